"""The typer app, the options every command shares, and how a command is run: expected
failures become one message and their exit code."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec

import typer
import typer.completion
import typer.core
import typer.main

from vaultsync import __version__
from vaultsync.errors import UsageError, VaultsyncError
from vaultsync.outcome import guarded, vault_path

PROG = "vaultsync"
SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")

app = typer.Typer(
    name=PROG,
    help="Keep AI-agent memory files safe: validated, timestamped git history you can restore.",
    no_args_is_help=True,
    add_completion=False,  # the callback offers typer's completion with SHELL as a value
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

P = ParamSpec("P")

VaultOpt = Annotated[
    Path | None,
    typer.Option(
        "--vault",
        metavar="PATH",
        help="The vault folder (default: $VAULTSYNC_VAULT, else the user data dir).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
FilesOpt = Annotated[
    bool,
    typer.Option("--files", "--verbose", "-v", help="List every file, not counts per source."),
]
WaitOpt = Annotated[
    float,
    typer.Option("--wait", metavar="SECONDS", help="Wait this long for another vaultsync's lock."),
]

# Options given before the command name (`vaultsync --vault X sync`), like `git -C`
# and `restic -r`; the callback stores them and `handled` hands them to the command.
_before: dict[str, Any] = {}
_command: list[str] = [""]


def _version(value: bool) -> None:
    if value:
        print(f"{PROG} {__version__}")
        raise typer.Exit(0)


def _show_completion(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> None:
    if value is None or ctx.resilient_parsing:
        return
    if value not in SHELLS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(SHELLS)}")
    typer.completion.show_callback(ctx, param, value)


def _install_completion(ctx: typer.Context, param: typer.CallbackParam, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        typer.completion.install_callback(ctx, param, value)


@app.callback()
def main(
    ctx: typer.Context,
    vault: VaultOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    install_completion: Annotated[
        bool,
        typer.Option(
            "--install-completion",
            callback=_install_completion,
            expose_value=False,
            is_eager=True,
            help="Install shell completion for the current shell.",
        ),
    ] = False,
    show_completion: Annotated[
        str | None,
        typer.Option(
            "--show-completion",
            metavar="SHELL",
            callback=_show_completion,
            expose_value=False,
            is_eager=True,
            help="Print the completion script for bash, zsh, fish or powershell.",
        ),
    ] = None,
) -> None:
    """Keep AI-agent memory files safe: validated, timestamped git history you can restore."""
    _before.clear()
    _before.update(vault=vault, json_out=json_out, quiet=quiet)
    _command[:] = [ctx.invoked_subcommand or ""]


def source_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """Tab completion of NAME: the sources in the vault the command line names."""
    from vaultsync import config

    given = ctx.params.get("vault") or (ctx.parent.params.get("vault") if ctx.parent else None)
    try:
        cfg = config.load(vault_path(given))
    except VaultsyncError:
        return []
    return [s.name for s in cfg.sources if s.name.startswith(incomplete)]


def handled(fn: Callable[P, int]) -> Callable[P, None]:
    """Run a command: expected failures become one message and their exit code."""
    takes = set(inspect.signature(fn).parameters)

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        raise typer.Exit(guarded(_call, fn, takes, args, kwargs))

    return wrapper


def _call(fn: Callable[..., int], takes: set[str], args: Any, kwargs: dict[str, Any]) -> int:
    """Fill in the options given before the command name; the command's own win."""
    for key, value in _before.items():
        if not value:
            continue
        if key not in takes:
            flag = {"vault": "--vault", "json_out": "--json", "quiet": "--quiet"}[key]
            raise UsageError(f"{flag} does not apply to `{PROG} {_command[0]}`")
        if not kwargs.get(key):
            kwargs[key] = value
    return fn(*args, **kwargs)


@app.command("help")
def help_(
    ctx: typer.Context,
    words: Annotated[
        list[str] | None,
        typer.Argument(metavar="COMMAND", help="A command (and sub-command) name."),
    ] = None,
) -> None:
    """Print a command's help, like `vaultsync COMMAND --help`.

    \b
    Example: vaultsync help restore
    Example: vaultsync help schedule install
    """
    root = ctx.find_root().command
    raise typer.Exit(root.main([*(words or []), "--help"], PROG, standalone_mode=False))


class _Argument(typer.core.TyperArgument):
    """An argument as a command line shows it: `PATH...`, never `{PATH} <list[str]>`."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        name = self.display_name_raw + ("..." if self.nargs != 1 else "")
        return [name if self.required else f"[{name}]"]


def _tidy(command: Any) -> Any:
    for param in command.params:
        if type(param) is typer.core.TyperArgument:
            param.__class__ = _Argument  # same object, only its help rendering differs
    for sub in getattr(command, "commands", {}).values():
        _tidy(sub)
    return command


def command() -> Any:
    """The click command the app runs, as `vaultsync --help` shows it."""
    typer.completion.get_completion_inspect_parameters()  # registers typer's shell scripts
    return _tidy(typer.main.get_command(app))
