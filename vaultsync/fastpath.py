"""A typer-free parser for `vaultsync sync`, the command cron and git hooks run.

typer with pydantic costs ~110 ms to import and set up: more than a whole no-change
sync of a small vault. This parser accepts exactly the sync options the CLI defines
(a test keeps the two in agreement) and hands anything else (help, a typo, an option
it does not know) to typer, which reports it properly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from vaultsync.engine import SyncOptions as Options

_FLAGS = {
    "--dry-run": "dry_run",
    "--allow-delete": "allow_delete",
    "--full": "full",
    "--json": "json_out",
    "--quiet": "quiet",
    "-q": "quiet",
}
_VALUED = {"--vault", "--source", "--wait"}
_BEFORE = {"--json", "--quiet", "-q"}  # the flags the CLI also takes before the command name


def parse_argv(argv: Sequence[str]) -> tuple[str | None, Options] | None:
    """`[--vault PATH] [-q] [--json] sync ARGS`, as the CLI reads it, or None for typer."""
    before: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg == "sync":
            parsed = parse_sync(list(it))
            return None if parsed is None else _merge(before, *parsed)
        if arg == "--vault" or arg.startswith("--vault="):
            before += [arg] if "=" in arg else [arg, next(it, "-")]
        elif arg in _BEFORE:
            before.append(arg)
        else:
            return None
    return None


def _merge(
    before: list[str], vault: str | None, opts: Options
) -> tuple[str | None, Options] | None:
    """The command's own options win over those given before its name."""
    parsed = parse_sync(before)
    if parsed is None:
        return None
    outer, flags = parsed
    opts = replace(opts, json_out=opts.json_out or flags.json_out, quiet=opts.quiet or flags.quiet)
    return (vault if vault is not None else outer), opts


def parse_sync(args: Sequence[str]) -> tuple[str | None, Options] | None:
    """(--vault, Options) for a plain sync invocation, or None to let typer parse it."""
    values: dict[str, list[str]] = {k: [] for k in _VALUED}
    flags: set[str] = set()
    push = True
    it = iter(args)
    for arg in it:
        name, eq, value = arg.partition("=")
        if name in _VALUED:
            if not eq:
                value = next(it, "")
                if not value or value.startswith("-"):
                    return None
            values[name].append(value)
        elif arg in _FLAGS:
            flags.add(_FLAGS[arg])
        elif arg == "--no-push":
            push = False
        else:
            return None
    wait = _number(values["--wait"])
    if wait is None or len(values["--vault"]) > 1:
        return None
    opts = Options(
        values["--source"],
        "dry_run" in flags,
        "allow_delete" in flags,
        "full" in flags,
        wait,
        "json_out" in flags,
        "quiet" in flags,
        push,
    )
    return (values["--vault"][0] if values["--vault"] else None), opts


def _number(given: list[str]) -> float | None:
    if not given:
        return 0.0
    try:
        return float(given[-1])
    except ValueError:
        return None
