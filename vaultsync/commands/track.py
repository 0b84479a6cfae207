"""`vaultsync track` / `untrack` / `adopt`: edit the sources in vaultsync.toml."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from vaultsync import config, state
from vaultsync.config import DEFAULT_INCLUDE, Source
from vaultsync.errors import EXIT_OK, UsageError
from vaultsync.fsutil import vault_lock
from vaultsync.gitvault import GitVault


def default_name(path: Path) -> str:
    """`~/.claude` -> `claude`: a folder name that is valid and visible in the vault."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", path.name).lstrip(".-") or "source"
    return name


def track(
    vault: Path,
    path: Path,
    name: str | None,
    include: Sequence[str],
    exclude: Sequence[str],
    schema: str,
    any_host: bool,
    wait_s: float = 0.0,
    quiet: bool = False,
) -> int:
    path = Path(os.path.abspath(os.path.expanduser(path)))
    if not path.exists():
        raise UsageError(
            f"{path} does not exist", hint="check the path; a source must exist when tracked"
        )
    if path == vault or vault in path.parents or path in vault.parents:
        raise UsageError(f"{path} overlaps the vault {vault}; track a folder outside it")
    src = Source(
        name=name or default_name(path),
        path=config.display_path(path),
        include=tuple(include) or DEFAULT_INCLUDE,
        exclude=tuple(exclude),
        schema=schema,
        host=None if any_host else config.this_host(),
        kind="file" if path.is_file() else "dir",
    )
    if path.is_file() and include:
        raise UsageError("--include applies to folders; this source is a single file")
    with vault_lock(vault / ".vaultsync" / "lock", wait_s):
        config.load(vault)
        config.add_source(vault, src)
        _commit_config(vault, f"track {src.name} ({src.path})")
    if not quiet:
        where = "any host" if any_host else f"host {src.host}"
        print(f"tracking {src.path} as {src.name!r} ({where}); run `vaultsync sync` to copy it")
    return EXIT_OK


def untrack(vault: Path, name: str, wait_s: float = 0.0, quiet: bool = False) -> int:
    with vault_lock(vault / ".vaultsync" / "lock", wait_s):
        config.load(vault)
        config.remove_source(vault, name)
        _forget(vault, name)
        _commit_config(vault, f"untrack {name}")
    if not quiet:
        print(f"stopped tracking {name!r}; its history stays in the vault")
    return EXIT_OK


def adopt(vault: Path, names: Sequence[str], wait_s: float = 0.0, quiet: bool = False) -> int:
    host = config.this_host()
    with vault_lock(vault / ".vaultsync" / "lock", wait_s):
        config.load(vault)
        config.set_host(vault, list(names), host)
        _commit_config(vault, f"adopt {', '.join(names)} on {host}")
    if not quiet:
        print(f"bound {', '.join(names)} to this machine ({host})")
    return EXIT_OK


def _forget(vault: Path, name: str) -> None:
    """Drop an untracked source from the state, so a later source of that name starts clean."""
    st = state.load(vault)
    if st is None:
        return
    st.forget_source(name)
    state.save(vault, st)


def _commit_config(vault: Path, what: str) -> None:
    GitVault(vault).commit_paths([config.CONFIG_NAME], what, config.this_host())
