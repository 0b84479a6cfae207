"""Commands that set up the vault and keep it current: init, track, untrack, adopt, sync,
status, sources, health."""

from __future__ import annotations

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
    source_names,
)
from vaultsync.config import DEFAULT_INCLUDE
from vaultsync.errors import VaultsyncError
from vaultsync.outcome import vault_path


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
            help="Keep the files matching GLOB, instead of the default "
            f"{', '.join(DEFAULT_INCLUDE)} (repeatable).",
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
        typer.Argument(metavar="NAME", help="The source's name.", autocompletion=source_names),
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
            metavar="NAME", help="Source names.", show_default=False, autocompletion=source_names
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
            autocompletion=source_names,
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
