"""Commands that read and restore history: log, search, diff, restore, export, bundle,
verify, validate, schemas."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from vaultsync.cli.app import (
    FilesOpt,
    JsonOpt,
    QuietOpt,
    VaultOpt,
    WaitOpt,
    app,
    handled,
)
from vaultsync.errors import VaultsyncError
from vaultsync.outcome import vault_path


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

    \b
    Example: vaultsync bundle --output /media/usb/vault.bundle
    Example (restore it on any machine): vaultsync init --from /media/usb/vault.bundle
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
