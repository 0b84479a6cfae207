"""Commands that make vaultsync run by itself: schedule, hooks, watch."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from vaultsync.cli.app import (
    JsonOpt,
    QuietOpt,
    VaultOpt,
    app,
    handled,
)
from vaultsync.errors import VaultsyncError
from vaultsync.outcome import vault_path

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
