"""The command line: the only package that imports typer. Parse, call, map errors to exit
codes. Each module registers its commands on `app`, in the order `--help` lists them."""

from __future__ import annotations

# isort: off
# Importing a module registers its commands; `--help` lists them in this order.
from vaultsync.cli import core  # noqa: F401
from vaultsync.cli import history  # noqa: F401
from vaultsync.cli import automation  # noqa: F401

# isort: on
from vaultsync.cli.app import PROG, app, command

__all__ = ["app", "command", "run"]


def run() -> int:
    try:
        command().main(prog_name=PROG)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0
