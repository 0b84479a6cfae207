"""The typer-free sync parser must agree with the CLI on every form it accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer.main

from tests.conftest import Env
from vaultsync import cli
from vaultsync.commands.sync import Options
from vaultsync.fastpath import parse_sync

FORMS = [
    [],
    ["--quiet"],
    ["-q", "--json"],
    ["--vault", "/tmp/v"],
    ["--vault=/tmp/v", "--no-push"],
    ["--source", "a", "--source=b", "--dry-run"],
    ["--wait", "2.5", "--full", "--allow-delete"],
    ["--wait=3"],
]


def typer_parse(args: list[str]) -> tuple[Any, Options]:
    command = typer.main.get_command(cli.app).commands["sync"]  # type: ignore[attr-defined]
    params = command.make_context("sync", list(args)).params
    opts = Options(
        params["source"] or [],
        params["dry_run"],
        params["allow_delete"],
        params["full"],
        params["wait"],
        params["json_out"],
        params["quiet"],
        not params["no_push"],
    )
    vault = params["vault"]
    return (str(vault) if vault is not None else None), opts


@pytest.mark.parametrize("args", FORMS)
def test_fast_parser_agrees_with_typer(args: list[str]) -> None:
    fast = parse_sync(args)
    assert fast is not None
    vault, opts = fast
    t_vault, t_opts = typer_parse(args)
    assert vault == t_vault
    assert opts == t_opts


@pytest.mark.parametrize("args", [["--help"], ["--wait", "soon"], ["--frobnicate"], ["--vault"]])
def test_anything_else_goes_to_typer(args: list[str]) -> None:
    assert parse_sync(args) is None


def test_help_and_errors_still_come_from_typer(env: Env) -> None:
    assert "Example:" in env.vs("sync", "--help").stdout
    assert "--frobnicate" in env.vs("sync", "--frobnicate", code=2).stderr


def test_fast_path_reports_errors_like_the_cli(env: Env) -> None:
    err = env.vs("sync", "--vault", str(Path(env.root) / "none"), code=2).stderr
    assert err.startswith("vaultsync: error: no vault at")
