"""The command line: the only module that imports typer. Parse, call, map errors to exit codes."""

from __future__ import annotations

import functools
import inspect
import os
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


def _source_names(ctx: typer.Context, incomplete: str) -> list[str]:
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


@app.command()
@handled
def init(
    vault: VaultOpt = None,
    remote: Annotated[
        str | None, typer.Option(metavar="URL", help="URL of a remote to push to.")
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", metavar="URL|PATH", help="Clone an existing vault (URL, path or bundle file)."
        ),
    ] = None,
    quiet: QuietOpt = False,
) -> int:
    """Create the vault (git repository, vaultsync.toml, .gitignore); safe to run again.

    \b
    Example: vaultsync init --vault ~/memory-vault
    Example (recovery on a new machine): vaultsync init --from git@host:me/vault.git
    """
    from vaultsync.commands import init as cmd

    if from_ is not None:
        if remote is not None:
            raise VaultsyncError("--from and --remote do not go together: a clone keeps its remote")
        return cmd.run_from(vault_path(vault), from_, quiet=quiet)
    return cmd.run(vault_path(vault), remote=remote, quiet=quiet)


@app.command()
@handled
def track(
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="A folder or a single file to keep safe.")
    ],
    vault: VaultOpt = None,
    name: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="The source's name (its folder in the vault)."),
    ] = None,
    include: Annotated[
        list[str] | None,
        typer.Option(
            metavar="GLOB",
            help="Keep the files matching GLOB, instead of the default **/*.json and "
            "**/*.jsonl (repeatable).",
        ),
    ] = None,
    also: Annotated[
        list[str] | None,
        typer.Option(
            metavar="GLOB",
            help="Keep the files matching GLOB too, beside the default globs (or the "
            "source's own, when it is tracked already; repeatable).",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(metavar="GLOB", help="Leave out the files matching GLOB (repeatable)."),
    ] = None,
    schema: Annotated[
        str | None,
        typer.Option(
            metavar="SCHEMA",
            help="auto (the default), none, a schema name or a schema path in the vault.",
            show_default=False,
        ),
    ] = None,
    any_host: Annotated[
        bool, typer.Option("--any-host", help="Sync this source on every machine.")
    ] = False,
    wait: WaitOpt = 0.0,
    quiet: QuietOpt = False,
) -> int:
    """Add a source: a folder (with include/exclude globs) or a single file. Tracking a
    path again changes that source's settings.

    \b
    Example: vaultsync track ~/.claude
    Example: vaultsync track ~/notes --also '**/*.md' --exclude 'cache/**'
    Example: vaultsync track ~/mcp/memory.jsonl --name mcp-graph --schema mcp-knowledge-graph
    """
    from vaultsync.commands import track as cmd

    want = cmd.Wanted(
        name=name,
        include=tuple(include) if include else None,
        also=tuple(also or ()),
        exclude=tuple(exclude) if exclude else None,
        schema=schema,
        any_host=any_host,
    )
    return cmd.track(vault_path(vault), path, want, wait_s=wait, quiet=quiet)


@app.command()
@handled
def untrack(
    name: Annotated[
        str,
        typer.Argument(metavar="NAME", help="The source's name.", autocompletion=_source_names),
    ],
    vault: VaultOpt = None,
    wait: WaitOpt = 0.0,
    quiet: QuietOpt = False,
) -> int:
    """Stop tracking a source; its history stays in the vault.

    \b
    Example: vaultsync untrack claude
    """
    from vaultsync.commands import track as cmd

    return cmd.untrack(vault_path(vault), name, wait_s=wait, quiet=quiet)


@app.command()
@handled
def adopt(
    names: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="NAME", help="Source names.", show_default=False, autocompletion=_source_names
        ),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every source bound to another machine.")
    ] = False,
    vault: VaultOpt = None,
    wait: WaitOpt = 0.0,
    quiet: QuietOpt = False,
) -> int:
    """Bind sources to this machine (after moving to a new one, or a hostname change).

    \b
    Example: vaultsync adopt claude mem0
    Example: vaultsync adopt --all   (after a hostname change)
    """
    from vaultsync.commands import track as cmd

    return cmd.adopt(vault_path(vault), names or [], every, wait_s=wait, quiet=quiet)


@app.command()
@handled
def sync(
    vault: VaultOpt = None,
    source: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME",
            help="Sync only this source (repeatable).",
            autocompletion=_source_names,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be committed.")
    ] = False,
    allow_delete: Annotated[
        bool, typer.Option("--allow-delete", help="Commit mass deletions.")
    ] = False,
    no_push: Annotated[bool, typer.Option("--no-push", help="Do not push this time.")] = False,
    full: Annotated[
        bool, typer.Option("--full", help="Hash every file instead of trusting stat.")
    ] = False,
    wait: WaitOpt = 0.0,
    files: FilesOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Copy what changed into the vault as one timestamped commit.

    \b
    Example: vaultsync sync --quiet   (the line to put in cron)
    Example: vaultsync sync --dry-run --files
    """
    from vaultsync.commands import sync as cmd

    opts = cmd.Options(
        source or [], dry_run, allow_delete, full, wait, json_out, quiet, not no_push
    )
    return cmd.run(vault_path(vault), opts, files)


@app.command()
@handled
def status(
    vault: VaultOpt = None,
    files: FilesOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Show pending changes, rejected files, the last sync, HEAD, unpushed commits and a
    line per source.

    \b
    Example: vaultsync status
    Example: vaultsync status --json
    """
    from vaultsync.commands import status as cmd

    return cmd.run(vault_path(vault), json_out=json_out, quiet=quiet, files=files)


@app.command()
@handled
def sources(vault: VaultOpt = None, json_out: JsonOpt = False, quiet: QuietOpt = False) -> int:
    """List every source: path, file or folder, host, include/exclude, schema, deletions,
    file count and last change.

    \b
    Example: vaultsync sources
    Example: vaultsync sources --json
    """
    from vaultsync.commands import sources as cmd

    return cmd.run(vault_path(vault), json_out=json_out, quiet=quiet)


@app.command()
@handled
def health(
    vault: VaultOpt = None,
    max_age: Annotated[
        str,
        typer.Option(
            "--max-age", metavar="AGE", help="The last successful sync must be newer than this."
        ),
    ] = "30m",
    min_free: Annotated[
        str,
        typer.Option("--min-free", metavar="SIZE", help="Free space the vault's disk must have."),
    ] = "1GiB",
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Exit 0 if syncs are current, nothing is rejected and the disk has room, else 1 saying why.

    \b
    Example: vaultsync health --max-age 1h
    Example: vaultsync health --json || notify-send "vaultsync needs a look"
    """
    from vaultsync.commands import health as cmd

    return cmd.run(vault_path(vault), max_age, min_free, json_out=json_out, quiet=quiet)


@app.command()
@handled
def log(
    paths: Annotated[
        list[str] | None, typer.Argument(metavar="PATH", help="A source path or vault path.")
    ] = None,
    vault: VaultOpt = None,
    n: Annotated[
        int | None, typer.Option("-n", metavar="N", help="Show at most N commits.")
    ] = None,
    rejected: Annotated[bool, typer.Option("--rejected", help="Show what was kept aside.")] = False,
    files: FilesOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Show commits, newest first, with the files each changed and what changed in them
    as memories; a commit of many files shows counts per source (--files lists them).

    \b
    Example: vaultsync log ~/.claude/memory.jsonl -n 5
    Example: vaultsync log -n 1 --files
    """
    from vaultsync.commands import log as cmd

    return cmd.run(
        vault_path(vault), paths or [], n, rejected, json_out=json_out, quiet=quiet, files=files
    )


@app.command()
@handled
def search(
    text: Annotated[str, typer.Argument(metavar="TEXT", help="What to look for (any case).")],
    paths: Annotated[
        list[str] | None, typer.Argument(metavar="PATH", help="A source path or vault path.")
    ] = None,
    vault: VaultOpt = None,
    n: Annotated[
        int, typer.Option("-n", metavar="N", help="Look back until N commits have shown hits.")
    ] = 20,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """When did the agent learn or forget TEXT: the commits in which a memory holding it
    appeared, changed or disappeared, newest first, each with the command that brings
    that version back.

    \b
    Example: vaultsync search "dark mode" ~/.claude -n 5
    """
    from vaultsync.commands import search as cmd

    return cmd.run(vault_path(vault), text, paths or [], n, json_out=json_out, quiet=quiet)


@app.command()
@handled
def diff(
    paths: Annotated[
        list[str] | None, typer.Argument(metavar="PATH", help="A source path or vault path.")
    ] = None,
    vault: VaultOpt = None,
    from_: Annotated[
        str | None,
        typer.Option("--from", metavar="WHEN", help="WHEN to compare from (default: HEAD)."),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to", metavar="WHEN", help="WHEN to compare to (default: the files on disk)."
        ),
    ] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Show what changed as memories: entities, observations, records, fields.

    \b
    Example: vaultsync diff ~/.claude/memory.jsonl --from yesterday
    """
    from vaultsync.commands import diff as cmd

    return cmd.run(vault_path(vault), paths or [], from_, to, json_out=json_out, quiet=quiet)


@app.command()
@handled
def restore(
    paths: Annotated[
        list[str] | None,
        typer.Argument(metavar="PATH", help="Files or folders (default: all)."),
    ] = None,
    at: Annotated[
        str,
        typer.Option("--at", metavar="WHEN", help="A commit, an ISO date, or e.g. '2 days ago'."),
    ] = "",
    vault: VaultOpt = None,
    to: Annotated[
        Path | None, typer.Option("--to", metavar="DIR", help="Write under DIR, not to sources.")
    ] = None,
    merge: Annotated[bool, typer.Option("--merge", help="Bring back lost memories only.")] = False,
    conflict: Annotated[
        str,
        typer.Option(
            metavar="keep|theirs", help="With --merge: keep (current) or theirs (WHEN's)."
        ),
    ] = "keep",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Overwrite without asking.")] = False,
    wait: WaitOpt = 0.0,
    files: FilesOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Put files back as they were at a point in time (or --merge the memories lost since).

    \b
    Example: vaultsync restore --at yesterday ~/.claude/memory.jsonl --dry-run
    Example: vaultsync restore --at '2 days ago' --merge --yes
    """
    from vaultsync.commands import restore as cmd

    if not at:
        raise VaultsyncError("--at WHEN is required", hint="e.g. --at HEAD~1 or --at '2 hours ago'")
    if conflict not in ("keep", "theirs"):
        raise VaultsyncError(f"--conflict must be keep or theirs, not {conflict!r}")
    if conflict != "keep" and not merge:
        raise VaultsyncError("--conflict goes with --merge")
    to_dir = Path(os.path.abspath(os.path.expanduser(to))) if to else None
    req = cmd.Request(
        at, paths or [], to_dir, merge, conflict, dry_run, yes, wait, json_out, quiet, files
    )
    return cmd.run(vault_path(vault), req)


@app.command()
@handled
def export(
    output: Annotated[
        Path | None, typer.Option("--output", metavar="DIR", help="An empty folder to write to.")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", metavar="json|csv|markdown", help="json, csv or markdown.")
    ] = "json",
    at: Annotated[str, typer.Option("--at", metavar="WHEN", help="WHEN (default: HEAD).")] = "HEAD",
    no_vectors: Annotated[
        bool, typer.Option("--no-vectors", help="Leave embeddings out (a fraction of the size).")
    ] = False,
    verify: Annotated[
        Path | None,
        typer.Option("--verify", metavar="DIR", help="Check an export against its checksums."),
    ] = None,
    vault: VaultOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Write a portable export of every memory, with metadata.json and checksums.json.

    \b
    Example: vaultsync export --format markdown --at yesterday --output ~/memories-export
    Check one later: vaultsync export --verify ~/memories-export
    """
    if verify is not None:
        from vaultsync.commands import exportverify

        return exportverify.run(Path(os.path.expanduser(verify)), json_out=json_out, quiet=quiet)
    if output is None:
        raise VaultsyncError("export needs --output DIR (or --verify DIR to check an export)")
    from vaultsync.commands import export as cmd

    out = Path(os.path.abspath(os.path.expanduser(output)))
    return cmd.run(
        vault_path(vault), fmt, at, out, json_out=json_out, quiet=quiet, vectors=not no_vectors
    )


@app.command()
@handled
def bundle(
    output: Annotated[
        Path, typer.Option("--output", metavar="FILE", help="The bundle file to write.")
    ],
    vault: VaultOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Write the whole vault as one verified git bundle file, for an offsite copy.

    Example: vaultsync bundle --output /media/usb/vault.bundle
    Restore it on any machine: vaultsync init --from /media/usb/vault.bundle
    """
    from vaultsync.commands import bundle as cmd

    out = Path(os.path.abspath(os.path.expanduser(output)))
    return cmd.run(vault_path(vault), out, json_out=json_out, quiet=quiet)


@app.command()
@handled
def verify(vault: VaultOpt = None, json_out: JsonOpt = False, quiet: QuietOpt = False) -> int:
    """Check the vault: git fsck, every file in HEAD valid, sources and state consistent.

    \b
    Example: vaultsync verify   (after a recovery, or from a monitor; exit 1 on problems)
    """
    from vaultsync.commands import verify as cmd

    return cmd.run(vault_path(vault), json_out=json_out, quiet=quiet)


@app.command()
@handled
def validate(
    files: Annotated[list[Path], typer.Argument(metavar="FILE", help="Files to check.")],
    schema: Annotated[
        str, typer.Option(metavar="SCHEMA", help="auto, or a schema name or path.")
    ] = "auto",
    vault: VaultOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Check files against the memory schemas (used by git hooks and pre-commit).

    \b
    Example: vaultsync validate ~/.claude/memory.jsonl --schema mcp-knowledge-graph
    """
    from vaultsync.commands import validate as cmd

    return cmd.run(files, schema, json_out=json_out, quiet=quiet)


@app.command("schemas")
@handled
def list_schemas(vault: VaultOpt = None, json_out: JsonOpt = False) -> int:
    """List the shipped JSON Schemas.

    \b
    Example: vaultsync schemas
    """
    from vaultsync.commands import schemas as cmd

    return cmd.run(json_out=json_out)


# -- automation: schedule, hooks, watch (issue 10) ----------------------------------------

schedule_app = typer.Typer(
    help="Run sync on a timer (cron, systemd, launchd), or keep `watch` running.\n\n"
    "Example: vaultsync schedule install --every 15m",
    no_args_is_help=True,
)
app.add_typer(schedule_app, name="schedule")


@schedule_app.command("install")
@handled
def schedule_install(
    vault: VaultOpt = None,
    every: Annotated[
        str, typer.Option(metavar="INTERVAL", help="How often: 5m, 15m, 1h, 1d...")
    ] = "15m",
    backend: Annotated[
        str | None,
        typer.Option(metavar="cron|systemd|launchd", help="Default: cron where crontab exists."),
    ] = None,
    watch: Annotated[
        bool, typer.Option("--watch", help="Keep `vaultsync watch` running (systemd/launchd).")
    ] = False,
    enable: Annotated[
        bool, typer.Option("--enable", help="Also load it (systemctl --user / launchctl).")
    ] = False,
    quiet: QuietOpt = False,
) -> int:
    """Run sync every INTERVAL (or the watcher) without you remembering to; idempotent.

    Example: vaultsync schedule install --every 15m

    Or keep the watcher running: vaultsync schedule install --backend systemd --watch --enable
    """
    from vaultsync.commands import schedule as cmd

    req = cmd.Request(backend, every, watch, enable, quiet)
    return cmd.install(vault_path(vault), req)


@schedule_app.command("remove")
@handled
def schedule_remove(
    vault: VaultOpt = None,
    backend: Annotated[
        str | None,
        typer.Option(metavar="cron|systemd|launchd", help="Default: every backend."),
    ] = None,
    quiet: QuietOpt = False,
) -> int:
    """Remove this vault's schedule (cron line, systemd units, launchd plist).

    Example: vaultsync schedule remove
    """
    from vaultsync.commands import schedule as cmd

    return cmd.remove(vault_path(vault), backend, quiet)


@schedule_app.command("show")
@handled
def schedule_show(vault: VaultOpt = None, json_out: JsonOpt = False) -> int:
    """Say what is scheduled for this vault, when sync last ran and whether it succeeded.

    Example: vaultsync schedule show
    """
    from vaultsync.commands import schedule as cmd

    return cmd.show(vault_path(vault), json_out)


hooks_app = typer.Typer(
    help="Git hooks: sync after commits in a source repository, validate in the vault.\n\n"
    "Example: vaultsync hooks install --repo ~/obsidian-vault",
    no_args_is_help=True,
)
app.add_typer(hooks_app, name="hooks")

RepoOpt = Annotated[
    Path | None,
    typer.Option(
        "--repo",
        metavar="PATH",
        help="A source repository (default: the vault itself, which gets pre-commit).",
        show_default=False,
    ),
]


@hooks_app.command("install")
@handled
def hooks_install(vault: VaultOpt = None, repo: RepoOpt = None, quiet: QuietOpt = False) -> int:
    """Install post-commit/post-merge (sync) in --repo, or pre-commit (validate) in the vault.

    Example: vaultsync hooks install --repo ~/obsidian-vault

    Existing hooks keep running (chained); installing twice changes nothing.
    """
    from vaultsync.commands import hooks as cmd

    return cmd.install(vault_path(vault), _abs(repo), quiet)


@hooks_app.command("uninstall")
@handled
def hooks_uninstall(vault: VaultOpt = None, repo: RepoOpt = None, quiet: QuietOpt = False) -> int:
    """Remove vaultsync's hooks and put back the hooks that were there before.

    Example: vaultsync hooks uninstall --repo ~/obsidian-vault
    """
    from vaultsync.commands import hooks as cmd

    return cmd.uninstall(vault_path(vault), _abs(repo), quiet)


def _abs(path: Path | None) -> Path | None:
    return Path(os.path.abspath(os.path.expanduser(path))) if path is not None else None


@app.command()
@handled
def watch(
    vault: VaultOpt = None,
    debounce: Annotated[
        int, typer.Option(metavar="MS", help="Sync once writes pause this long.")
    ] = 1000,
    max_delay: Annotated[
        float,
        typer.Option(metavar="SECONDS", help="Sync at least this often while writes go on."),
    ] = 60.0,
    rescan: Annotated[
        float,
        typer.Option(metavar="SECONDS", help="Also sync this often regardless of file events."),
    ] = 300.0,
    quiet: QuietOpt = False,
) -> int:
    """Sync whenever tracked files change, until stopped (SIGTERM/Ctrl-C sync what is pending).

    Example: vaultsync watch --debounce 2000

    Keep it running with: vaultsync schedule install --backend systemd --watch --enable
    """
    from vaultsync.commands import watch as cmd

    if debounce < 0 or max_delay <= 0 or rescan <= 0:
        raise VaultsyncError("--debounce must be 0 or more, --max-delay and --rescan above 0")
    opts = cmd.WatchOptions(debounce / 1000, max_delay, rescan, quiet)
    return cmd.run(vault_path(vault), opts)


def run() -> int:
    try:
        command().main(prog_name=PROG)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0
