# Shared by scripts/test and scripts/torture: the Debian packages some tests drive for
# real (cron's crontab, sshd, libfiu's fiu-run, gcc for the k-th call fault shim that
# registers a libfiu external policy; it declares the two libfiu calls it makes, so
# libfiu-dev is not needed). A fresh CI machine (root, Debian) gets
# them from apt in one go; where that cannot be done, the tests that need one skip (or
# use a stand-in) and say so.
# Usage: need_packages COMMAND:PACKAGE...
need_packages() {
  local missing=() pair cmd pkg
  for pair in "$@"; do
    cmd=${pair%%:*} pkg=${pair#*:}
    command -v "$cmd" >/dev/null || [ -x "/usr/sbin/$cmd" ] || missing+=("$pkg")
  done
  [ ${#missing[@]} = 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "not installing ${missing[*]} (needs root and apt-get): the tests that use them skip" >&2
    return 0
  fi
  echo "== installing ${missing[*]} for the tests that drive them" >&2
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine has no package lists: update only when the first try fails.
  { apt-get install -y -qq "${missing[@]}" || { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; }; } \
    >/dev/null 2>&1 || echo "could not install ${missing[*]}: the tests that use them skip" >&2
}
