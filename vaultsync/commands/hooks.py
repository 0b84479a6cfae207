"""`vaultsync hooks install|uninstall [--repo PATH]`: git hooks that sync or validate.

In a source repository (`--repo`): post-commit and post-merge that start a quiet sync in
the background when the commit touched a tracked file. In the vault: pre-commit that
validates the staged memory files. Like pre-commit's installer: a marker line tells our
hooks from others, a hook that was there is moved aside and still runs (chained),
uninstall puts it back, installing twice changes nothing, `core.hooksPath` and linked
worktrees are respected (git itself says where the hooks are).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from vaultsync import config, gitrun, units
from vaultsync.config import Source
from vaultsync.errors import EXIT_OK, UsageError
from vaultsync.fsutil import atomic_write

MARKER = "# vaultsync-hook:"
CHAINED = ".vaultsync-chained"
SOURCE_HOOKS = ("post-commit", "post-merge")
VAULT_HOOKS = ("pre-commit",)
# Placeholders filled with shell text (already quoted), not with one quoted word.
SHELL_TEXT = ("@PATTERNS@", "@TOPS@", "@VAULTSYNC@", "@HOST_ENV@")


def template_dir() -> Path:
    """The hook scripts: in the wheel under vaultsync/_data, in a checkout at the repo root."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_data" / "hooks", here.parent / "hooks"):
        if (candidate / "post-commit").is_file():
            return candidate
    raise FileNotFoundError(f"vaultsync's hook scripts are missing (looked in {here / '_data'})")


def _git(repo: Path, *args: str) -> str:
    if not repo.is_dir():
        raise UsageError(f"{repo} is not a folder", hint="pass --repo a git repository's folder")
    proc = gitrun.run(args, repo, check=False)
    if proc.returncode != 0:
        why = proc.stderr.decode("utf-8", "replace").strip() or "git failed"
        raise UsageError(
            f"{repo} is not a git repository ({why})",
            hint="pass --repo the folder of a git repository, or omit it for the vault",
        )
    return proc.stdout.decode("utf-8", "surrogateescape").strip()


def locate(repo: Path) -> tuple[list[Path], Path]:
    """(every work tree of the repository, its hooks folder) as git sees them:
    core.hooksPath, and linked worktrees sharing the main repository's hooks."""
    _git(repo, "rev-parse", "--show-toplevel")  # a clear error outside a work tree
    hooks = Path(repo, _git(repo, "rev-parse", "--git-path", "hooks")).resolve()
    listing = _git(repo, "worktree", "list", "--porcelain").splitlines()
    tops = [Path(line[9:]).resolve() for line in listing if line.startswith("worktree ")]
    return [t for t in tops if (t / ".git").exists()], hooks


def _target(vault: Path, repo: Path | None) -> tuple[Path, bool]:
    """The repository to hook, and whether it is the vault (pre-commit) or a source."""
    if repo is None or repo.resolve() == vault.resolve():
        return vault, True
    return repo, False


def is_ours(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return any(line.startswith(MARKER) for line in f.read(4096).splitlines())
    except OSError:
        return False


def install(vault: Path, repo: Path | None, quiet: bool = False) -> int:
    cfg = config.load(vault)
    target, in_vault = _target(vault, repo)
    tops, hooks = locate(target)
    values = {
        "@VAULT@": str(vault),
        "@VAULTSYNC@": shlex.join(units.vaultsync_command()),
        "@HOST_ENV@": "".join(
            f"{k}={shlex.quote(v)}; export {k}" for k, v in units.host_env().items()
        ),
    }
    if not in_vault:
        host = config.this_host()
        found = {t: tracked_patterns(cfg.sources, t, host) for t in tops}
        found = {t: p for t, p in found.items() if p}
        if not found:
            raise UsageError(
                f"no source of the vault {vault} is in {target}",
                hint=f"track its memory files first: vaultsync track {target}/PATH",
            )
        patterns = dict.fromkeys(p for ps in found.values() for p in ps)
        values["@PATTERNS@"] = " | ".join(patterns)
        values["@TOPS@"] = " | ".join(shlex.quote(str(t)) for t in found)
        values["@REPO@"] = str(target)
    config_mtime = (vault / config.CONFIG_NAME).stat().st_mtime
    names = VAULT_HOOKS if in_vault else SOURCE_HOOKS
    hooks.mkdir(parents=True, exist_ok=True)
    for name in names:
        changed = put_hook(hooks / name, render(name, values), config_mtime)
        if not quiet:
            print(f"{'installed' if changed else 'already installed'}: {hooks / name}")
    return EXIT_OK


def render(name: str, values: dict[str, str]) -> str:
    text = (template_dir() / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(key, value if key in SHELL_TEXT else shlex.quote(value))
    return text


def put_hook(path: Path, text: str, config_mtime: float) -> bool:
    """Write our hook, moving a foreign one aside to be chained; False if nothing changed.
    A hook older than vaultsync.toml is rewritten even when equal: its mtime is how the
    hook knows its list of tracked paths is current."""
    if path.exists() or path.is_symlink():
        if is_ours(path):
            if path.read_text(encoding="utf-8") == text and path.stat().st_mtime >= config_mtime:
                return False
        else:
            chained = path.with_name(path.name + CHAINED)
            if chained.exists():
                raise UsageError(
                    f"{path} is not vaultsync's, and {chained.name} is there already",
                    hint="move one of them away, then run `vaultsync hooks install` again",
                )
            os.replace(path, chained)
            if not os.access(chained, os.X_OK):
                chained.chmod(chained.stat().st_mode | 0o111)  # git ran it only if executable
    atomic_write(path, text.encode(), mode=0o755)
    return True


def uninstall(vault: Path, repo: Path | None, quiet: bool = False) -> int:
    target, in_vault = _target(vault, repo)
    _tops, hooks = locate(target)
    for name in VAULT_HOOKS if in_vault else SOURCE_HOOKS:
        path = hooks / name
        chained = path.with_name(name + CHAINED)
        if not is_ours(path):
            if not quiet and path.exists():
                print(f"left alone (not vaultsync's): {path}")
            continue
        if chained.exists():
            os.replace(chained, path)
            what = "restored the previous hook"
        else:
            path.unlink()
            what = "removed"
        if not quiet:
            print(f"{what}: {path}")
    return EXIT_OK


# -- which paths of a repository are tracked ------------------------------------------------


def tracked_patterns(sources: tuple[Source, ...], top: Path, host: str) -> list[str]:
    """`case` patterns over paths relative to `top` that match at least every tracked
    file in it. Wider is safe (a sync finds nothing and makes no commit); narrower would
    miss a backup."""
    patterns: list[str] = []
    for src in sources:
        if not src.on_this_host(host):
            continue
        root = Path(os.path.realpath(src.root))
        if root == top or top in root.parents:
            rel = root.relative_to(top).as_posix()
            if src.is_single_file():
                patterns.append(shlex.quote(rel))
                continue
            prefix = "" if rel == "." else shlex.quote(rel + "/")
            patterns += [prefix + case_pattern(g) for g in src.include]
        elif root in top.parents and not src.is_single_file():
            # The repository is inside the source: only globs that may start anywhere
            # can be narrowed; any other commit syncs.
            ok = all(g.startswith("**/") for g in src.include)
            patterns += [case_pattern(g) for g in src.include] if ok else ["*"]
    return list(dict.fromkeys(patterns))


def case_pattern(glob: str) -> str:
    """A glob as a shell `case` pattern: `*` there also matches `/`, so `**/` and `*`
    both become `*` (wider, never narrower); literal text is quoted."""
    out: list[str] = []
    literal = ""
    i = 0
    while i < len(glob):
        c = glob[i]
        end = glob.find("]", i + 2) if c == "[" else -1
        if c in "*?" or end != -1:
            if literal:
                out.append(shlex.quote(literal))
                literal = ""
            if c == "*":
                out.append("*")
                i += 3 if glob.startswith("**/", i) else 2 if glob.startswith("**", i) else 1
            elif c == "?":
                out.append("?")
                i += 1
            else:
                body = glob[i + 1 : end]
                # A bracket with shell-special characters would break the `case` line.
                safe = all(ch.isalnum() or ch in "!-._" for ch in body)
                out.append(f"[{body}]" if safe else "?")
                i = end + 1
        else:
            literal += c
            i += 1
    if literal:
        out.append(shlex.quote(literal))
    return "".join(out) or "''"
