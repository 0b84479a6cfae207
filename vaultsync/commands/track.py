"""`vaultsync track` / `untrack` / `adopt`: edit the sources in vaultsync.toml."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from vaultsync import config, state
from vaultsync.config import DEFAULT_INCLUDE, Config, Source
from vaultsync.errors import EXIT_OK, UsageError
from vaultsync.gitvault import GitVault
from vaultsync.vault import Vault


def default_name(path: Path) -> str:
    """`~/.claude` -> `claude`: a folder name that is valid and visible in the vault."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", path.name).lstrip(".-") or "source"
    return name


@dataclass(frozen=True)
class Wanted:
    """What `track` was asked for; None means "not given" (keep it, or the default)."""

    name: str | None = None
    include: tuple[str, ...] | None = None
    also: tuple[str, ...] = ()
    exclude: tuple[str, ...] | None = None
    schema: str | None = None
    any_host: bool = False


def track(vault: Path, path: Path, want: Wanted, wait_s: float = 0.0, quiet: bool = False) -> int:
    path = Path(os.path.abspath(os.path.expanduser(path)))
    if not path.exists():
        raise UsageError(
            f"{path} does not exist", hint="check the path; a source must exist when tracked"
        )
    if path == vault or vault in path.parents or path in vault.parents:
        raise UsageError(f"{path} overlaps the vault {vault}; track a folder outside it")
    if path.is_file() and (want.include or want.also or want.exclude):
        raise UsageError("--include, --also and --exclude apply to folders; this is one file")
    host = config.this_host()
    with Vault(vault).lock(wait_s):
        cfg = config.load(vault)
        _refuse_inside(cfg, path, host)
        old = _same_source(cfg, path, host)
        if old is not None:
            message = _update(vault, old, want, host)
        else:
            src = _new_source(path, want, host, cfg)
            config.add_source(vault, src)
            _commit_config(vault, f"track {src.name} ({src.path})")
            where = "any host" if src.host is None else f"host {src.host}"
            message = (
                f"tracking {src.path} as {src.name!r} ({where}); run `vaultsync sync` to copy it"
            )
    if not quiet:
        print(message)
    return EXIT_OK


def _new_source(path: Path, want: Wanted, host: str, cfg: Config) -> Source:
    return Source(
        name=want.name or _free_name(default_name(path), host, cfg),
        path=config.display_path(path),
        include=(want.include or DEFAULT_INCLUDE) + want.also,
        exclude=want.exclude or (),
        schema=want.schema or "auto",
        host=None if want.any_host else host,
        kind="file" if path.is_file() else "dir",
    )


def _free_name(name: str, host: str, cfg: Config) -> str:
    """A second machine tracking its own `~/.claude` gets `claude-<its host>`, not an
    error: the first machine's `claude` is that machine's. A name this machine uses
    already, or one given with --name, is refused when taken (add_source says so)."""
    owner = next((s for s in cfg.sources if s.name == name), None)
    if owner is None or owner.host is None or owner.host == host:
        return name
    taken = {s.name for s in cfg.sources}
    base = f"{name}-{default_name(Path(host)) or 'host'}"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _same_source(cfg: Config, path: Path, host: str) -> Source | None:
    """The source this machine already keeps `path` in (a source of the same path bound to
    another machine is that machine's: a second one is made)."""
    for src in cfg.sources:
        if src.on_this_host(host) and Path(os.path.abspath(src.root)) == path:
            return src
    return None


def _refuse_inside(cfg: Config, path: Path, host: str) -> None:
    for src in cfg.sources:
        root = Path(os.path.abspath(src.root))
        if src.on_this_host(host) and root in path.parents and not src.is_single_file():
            rel = path.relative_to(root).as_posix()
            raise UsageError(
                f"{path} is inside the folder of source {src.name!r} ({src.path}), "
                "which already keeps what it includes",
                hint=f"its vault path is {src.name}/{rel}; to change what {src.name!r} keeps, "
                f"run `vaultsync track {src.path} --include GLOB` (or --also, --exclude)",
            )


def _update(vault: Path, old: Source, want: Wanted, host: str) -> str:
    if want.name is not None and want.name != old.name:
        raise UsageError(
            f"{old.path} is tracked already as {old.name!r}; a source is not renamed",
            hint=f"`vaultsync untrack {old.name}` and track it again with --name "
            f"{want.name} (the history stays under {old.name}/)",
        )
    include = want.include if want.include is not None else old.include
    new = replace(
        old,
        include=include if not want.also else tuple(dict.fromkeys(include + want.also)),
        exclude=want.exclude if want.exclude is not None else old.exclude,
        schema=want.schema if want.schema is not None else old.schema,
        host=None if want.any_host else (old.host and host),
    )
    changes = _changes(old, new)
    if not changes:
        return f"{old.path} is tracked already as {old.name!r}; nothing changed"
    config.update_source(vault, new)
    _commit_config(vault, f"track {old.name}: {'; '.join(changes)}")
    return f"updated {old.name!r} ({old.path}): " + "; ".join(changes)


def _changes(old: Source, new: Source) -> list[str]:
    def show(value: object) -> str:
        if value is None:
            return "any"
        if isinstance(value, tuple):
            return ", ".join(value) or "(none)"
        return str(value)

    fields = ("include", "exclude", "schema", "host")
    return [
        f"{f} {show(getattr(old, f))} -> {show(getattr(new, f))}"
        for f in fields
        if getattr(old, f) != getattr(new, f)
    ]


def untrack(vault: Path, name: str, wait_s: float = 0.0, quiet: bool = False) -> int:
    with Vault(vault).lock(wait_s):
        config.load(vault)
        config.remove_source(vault, name)
        _forget(vault, name)
        _commit_config(vault, f"untrack {name}")
    if not quiet:
        print(f"stopped tracking {name!r}; its history stays in the vault")
    return EXIT_OK


def adopt(
    vault: Path, names: Sequence[str], every: bool = False, wait_s: float = 0.0, quiet: bool = False
) -> int:
    host = config.this_host()
    if every == bool(names):
        raise UsageError("name the sources to adopt, or give --all (not both)")
    with Vault(vault).lock(wait_s):
        cfg = config.load(vault)
        if every:
            names = [s.name for s in cfg.sources if s.host is not None and s.host != host]
            if not names:
                if not quiet:
                    print(f"every source is synced on this machine ({host}) already")
                return EXIT_OK
            _refuse_twins(cfg, names, host)
        config.set_host(vault, list(names), host)
        _commit_config(vault, f"adopt {', '.join(names)} on {host}")
    if not quiet:
        print(f"bound {', '.join(names)} to this machine ({host})")
    return EXIT_OK


def _refuse_twins(cfg: Config, names: Sequence[str], host: str) -> None:
    """Two machines' copies of one folder must not both become this machine's source."""
    mine = [s for s in cfg.sources if s.name in names or s.on_this_host(host)]
    for i, a in enumerate(mine):
        for b in mine[i + 1 :]:
            if os.path.abspath(a.root) == os.path.abspath(b.root):
                raise UsageError(
                    f"sources {a.name!r} and {b.name!r} both keep {a.path}: adopting both "
                    "would sync one folder twice",
                    hint="adopt the one this machine continues by name: `vaultsync adopt NAME`",
                )


def _forget(vault: Path, name: str) -> None:
    """Drop an untracked source from the state, so a later source of that name starts clean."""
    st = state.load(vault)
    if st is None:
        return
    st.forget_source(name)
    state.save(vault, st)


def _commit_config(vault: Path, what: str) -> None:
    GitVault(vault).commit_paths([config.CONFIG_NAME], what, config.this_host())
