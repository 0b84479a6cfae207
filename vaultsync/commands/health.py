"""`vaultsync health`: exit 0 when backups are happening, 1 saying what is wrong.

For monitors (cron, systemd's OnFailure=, a Nagios-style check): backups that stop
silently are the common failure of auto-commit tools. Reads only runs.json, the
state's rejections, git's refs and the disk: no scan, so it is cheap to run often.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from vaultsync import config, runs, state
from vaultsync.clock import utc_now
from vaultsync.errors import EXIT_OK, EXIT_PARTIAL, ConfigError, UsageError
from vaultsync.vault import Vault

DEFAULT_MAX_AGE = "30m"
DEFAULT_MIN_FREE = "1GiB"
_SIZE_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)B?\s*\Z", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    check: str  # stale | rejected | unpushed | lock | disk
    message: str
    hint: str


def parse_size(text: str, flag: str) -> int:
    """'1GiB', '500MB', '2G', '1024' (bytes) -> bytes."""
    m = _SIZE_RE.match(text)
    if not m:
        raise UsageError(f"{flag}: {text!r} is not a size like '1GiB', '500MB' or '2G'")
    power = "KMGT".find(m.group(2).upper()) + 1 if m.group(2) else 0
    base = 1024 if m.group(3) or not m.group(2) else 1000
    return int(float(m.group(1)) * base**power)


def parse_age(text: str, flag: str) -> float:
    try:
        return config.parse_duration(text, flag)
    except ConfigError:
        raise UsageError(f"{flag}: {text!r} is not a duration like '30m', '2h' or '1d'") from None


def ago(seconds: float) -> str:
    """A person's words for an age: '40 s', '12 min', '3 h 5 min', '11 days'."""
    s = max(0, int(seconds))
    if s < 90:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 2 * 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} days"


def since(stamp: str | None, now: datetime) -> float | None:
    if not stamp:
        return None
    try:
        return (now - datetime.fromisoformat(stamp)).total_seconds()
    except ValueError:
        return None


def check(vault: Vault, max_age_s: float, min_free: int) -> list[Problem]:
    now = utc_now()
    return [
        *_stale(vault, max_age_s, now),
        *_rejected(vault),
        *_unpushed(vault, max_age_s, now),
        *_lock(vault, max_age_s, now),
        *_disk(vault, min_free),
    ]


def _stale(vault: Vault, max_age_s: float, now: datetime) -> list[Problem]:
    r = runs.load(vault.runs_path)
    age = since(r.last_success, now)
    error = f"; the last run failed: {r.last_error['message']}" if r.last_error else ""
    error = error if r.failing_since else ""
    if age is None:
        return [
            Problem(
                "stale",
                "no sync has succeeded yet" + error,
                "run `vaultsync sync`, then `vaultsync schedule install` to run it on a timer",
            )
        ]
    if age <= max_age_s:
        return []
    last_run = since(r.last_run, now)
    ran = f" (the last run was {ago(last_run)} ago)" if last_run is not None else ""
    return [
        Problem(
            "stale",
            f"the last successful sync was {ago(age)} ago, more than {ago(max_age_s)}{ran}{error}",
            "if syncs are not running, check the timer (`vaultsync schedule show`) and "
            "`.vaultsync/vaultsync.log`; run `vaultsync sync` to see what fails",
        )
    ]


def _rejected(vault: Vault) -> list[Problem]:
    st = state.load(vault.root)
    if st is None:
        return []
    return [
        Problem(
            "rejected",
            f"{vp} is rejected: {r.reason}",
            "fix the file (its last good version stays in the vault); "
            f"`vaultsync log --rejected {vp}` shows what was kept aside",
        )
        for vp, r in sorted(st.rejected.items())
    ]


def _unpushed(vault: Vault, max_age_s: float, now: datetime) -> list[Problem]:
    cfg = vault.config
    if not cfg.remote or vault.git.head() is None:
        return []
    tracking = f"refs/remotes/{cfg.remote}/{cfg.branch}"
    base = [f"^{tracking}"] if vault.git.resolve(tracking) else []
    times = vault.git.run("log", "--format=%ct", "HEAD", *base).split()
    if not times:
        return []
    age = now.timestamp() - int(times[-1])
    if age <= max_age_s:
        return []
    return [
        Problem(
            "unpushed",
            f"{len(times)} commit(s) not pushed to {cfg.remote!r}, the oldest {ago(age)} ago",
            "run `vaultsync sync` to see why the push fails (network, credentials, "
            "another machine's commits)",
        )
    ]


def _lock(vault: Vault, max_age_s: float, now: datetime) -> list[Problem]:
    pid = vault.lock_holder()
    if pid is None:
        return []
    if pid > 0 and not _alive(pid):
        return [
            Problem(
                "lock",
                f"the vault's lock is held, but its owner (pid {pid}) is gone",
                "a child of that process (git) still holds it: find it with "
                f"`fuser -v {vault.lock_path}` and let it finish, or end it",
            )
        ]
    try:
        age = now.timestamp() - vault.lock_path.stat().st_mtime
    except OSError:
        return []
    if age <= max_age_s:
        return []
    return [
        Problem(
            "lock",
            f"a sync (pid {pid}) has held the vault's lock for {ago(age)}",
            f"see what it is doing (`ps -p {pid} -o pid,etime,args`); if it hangs, end it "
            f"with `kill {pid}`: the next sync starts cleanly",
        )
    ]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _disk(vault: Vault, min_free: int) -> list[Problem]:
    free = shutil.disk_usage(vault.root).free
    if free >= min_free:
        return []
    return [
        Problem(
            "disk",
            f"the vault's disk has {_size(free)} free, less than {_size(min_free)}",
            f"free some space where {vault.root} lives (a full disk stops every commit)",
        )
    ]


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def run(
    root: Path,
    max_age: str = DEFAULT_MAX_AGE,
    min_free: str = DEFAULT_MIN_FREE,
    json_out: bool = False,
    quiet: bool = False,
) -> int:
    max_age_s, free = parse_age(max_age, "--max-age"), parse_size(min_free, "--min-free")
    vault = Vault.open(root)
    problems = check(vault, max_age_s, free)
    if json_out:
        print(json.dumps(report(vault, problems), indent=2))
    elif not quiet:
        print(render(problems))
    return EXIT_PARTIAL if problems else EXIT_OK


def report(vault: Vault, problems: list[Problem]) -> dict[str, Any]:
    r = runs.load(vault.runs_path)
    return {
        "ok": not problems,
        "vault": str(vault.root),
        "last_success": r.last_success,
        "last_run": r.last_run,
        "problems": [asdict(p) for p in problems],
    }


def render(problems: list[Problem]) -> str:
    if not problems:
        return "ok: syncs are current, nothing is rejected, the vault has room"
    lines = [f"{len(problems)} problem(s):"]
    for p in problems:
        lines += [f"  {p.check}: {p.message}", f"    hint: {p.hint}"]
    return "\n".join(lines)


def verdict(vault: Vault) -> str:
    """The health verdict in a few words, for `status`."""
    problems = check(
        vault, parse_age(DEFAULT_MAX_AGE, "--max-age"), parse_size(DEFAULT_MIN_FREE, "")
    )
    if not problems:
        return "ok"
    return "; ".join(p.message for p in problems)
