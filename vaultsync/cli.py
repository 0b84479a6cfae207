"""The command line: the only module that imports typer. Parse, call, map errors to exit codes."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec

import typer

from vaultsync.errors import VaultsyncError
from vaultsync.outcome import guarded, vault_path

app = typer.Typer(
    name="vaultsync",
    help="Keep AI-agent memory files safe: validated, timestamped git history you can restore.",
    no_args_is_help=True,
    add_completion=False,
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
WaitOpt = Annotated[
    float,
    typer.Option("--wait", metavar="SECONDS", help="Wait this long for another vaultsync's lock."),
]


def handled(fn: Callable[P, int]) -> Callable[P, None]:
    """Run a command: expected failures become one message and their exit code."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        raise typer.Exit(guarded(fn, *args, **kwargs))

    return wrapper


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

    Example: vaultsync init --vault ~/memory-vault
    Recovery on a new machine: vaultsync init --from git@host:me/vault.git
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
        list[str] | None, typer.Option(metavar="GLOB", help="Glob of files to keep (repeatable).")
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(metavar="GLOB", help="Glob of files to leave out (repeatable)."),
    ] = None,
    schema: Annotated[
        str,
        typer.Option(
            metavar="SCHEMA", help="auto, none, a schema name or a schema path in the vault."
        ),
    ] = "auto",
    any_host: Annotated[
        bool, typer.Option("--any-host", help="Sync this source on every machine.")
    ] = False,
    wait: WaitOpt = 0.0,
    quiet: QuietOpt = False,
) -> int:
    """Add a source: a folder (with include/exclude globs) or a single file.

    Example: vaultsync track ~/.claude --include '**/*.json' --exclude 'cache/**'
    """
    from vaultsync.commands import track as cmd

    return cmd.track(
        vault_path(vault),
        path,
        name,
        include or [],
        exclude or [],
        schema,
        any_host,
        wait_s=wait,
        quiet=quiet,
    )


@app.command()
@handled
def untrack(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The source's name.")],
    vault: VaultOpt = None,
    wait: WaitOpt = 0.0,
    quiet: QuietOpt = False,
) -> int:
    """Stop tracking a source; its history stays in the vault.

    Example: vaultsync untrack claude
    """
    from vaultsync.commands import track as cmd

    return cmd.untrack(vault_path(vault), name, wait_s=wait, quiet=quiet)


@app.command()
@handled
def adopt(
    names: Annotated[list[str], typer.Argument(metavar="NAME", help="Source names.")],
    vault: VaultOpt = None,
    wait: WaitOpt = 0.0,
    quiet: QuietOpt = False,
) -> int:
    """Bind sources to this machine (after moving to a new one, or a hostname change).

    Example: vaultsync adopt claude mem0
    """
    from vaultsync.commands import track as cmd

    return cmd.adopt(vault_path(vault), names, wait_s=wait, quiet=quiet)


@app.command()
@handled
def sync(
    vault: VaultOpt = None,
    source: Annotated[
        list[str] | None, typer.Option(metavar="NAME", help="Sync only this source (repeatable).")
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
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Copy what changed into the vault as one timestamped commit.

    Example: vaultsync sync --quiet   (the line to put in cron)
    """
    from vaultsync.commands import sync as cmd

    opts = cmd.Options(
        source or [], dry_run, allow_delete, full, wait, json_out, quiet, not no_push
    )
    return cmd.run(vault_path(vault), opts)


@app.command()
@handled
def status(vault: VaultOpt = None, json_out: JsonOpt = False, quiet: QuietOpt = False) -> int:
    """Show pending changes, rejected files, the last sync, HEAD and unpushed commits.

    Example: vaultsync status --json
    """
    from vaultsync.commands import status as cmd

    return cmd.run(vault_path(vault), json_out=json_out, quiet=quiet)


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
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Show commits, newest first, with the files each changed.

    Example: vaultsync log ~/.claude/memory.jsonl -n 5
    """
    from vaultsync.commands import log as cmd

    return cmd.run(vault_path(vault), paths or [], n, rejected, json_out=json_out, quiet=quiet)


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
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Put files back as they were at a point in time (or --merge the memories lost since).

    Example: vaultsync restore --at yesterday ~/.claude/memory.jsonl --dry-run
    """
    from vaultsync.commands import restore as cmd

    if not at:
        raise VaultsyncError("--at WHEN is required", hint="e.g. --at HEAD~1 or --at '2 hours ago'")
    if conflict not in ("keep", "theirs"):
        raise VaultsyncError(f"--conflict must be keep or theirs, not {conflict!r}")
    if conflict != "keep" and not merge:
        raise VaultsyncError("--conflict goes with --merge")
    to_dir = Path(os.path.abspath(os.path.expanduser(to))) if to else None
    req = cmd.Request(at, paths or [], to_dir, merge, conflict, dry_run, yes, wait, json_out, quiet)
    return cmd.run(vault_path(vault), req)


@app.command()
@handled
def export(
    output: Annotated[
        Path, typer.Option("--output", metavar="DIR", help="An empty folder to write to.")
    ],
    fmt: Annotated[
        str, typer.Option("--format", metavar="json|csv|markdown", help="json, csv or markdown.")
    ] = "json",
    at: Annotated[str, typer.Option("--at", metavar="WHEN", help="WHEN (default: HEAD).")] = "HEAD",
    vault: VaultOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Write a portable export of every memory, with metadata.json and checksums.json.

    Example: vaultsync export --format markdown --at yesterday --output ~/memories-export
    """
    from vaultsync.commands import export as cmd

    out = Path(os.path.abspath(os.path.expanduser(output)))
    return cmd.run(vault_path(vault), fmt, at, out, json_out=json_out, quiet=quiet)


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

    Example: vaultsync validate ~/.claude/memory.jsonl --schema mcp-knowledge-graph
    """
    from vaultsync.commands import validate as cmd

    return cmd.run(files, schema, json_out=json_out, quiet=quiet)


@app.command("schemas")
@handled
def list_schemas(vault: VaultOpt = None, json_out: JsonOpt = False) -> int:
    """List the shipped JSON Schemas.

    Example: vaultsync schemas
    """
    from vaultsync.commands import schemas as cmd

    return cmd.run(json_out=json_out)


def run() -> int:
    try:
        app()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0
