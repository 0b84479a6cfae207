"""The command line as people already know it from git and restic: global options,
--version, shell completion, `help COMMAND`, and help text that reads like a command line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Env
from vaultsync import __version__, cli
from vaultsync.fastpath import parse_argv, parse_sync

README = (Path(__file__).parent.parent / "README.md").read_text()
PYTHON_TYPES = ("list[", "<", "Path", "str]", "int]", "bool]", "Optional", "NoneType")


def walk(command: Any, words: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command and sub-command of the app, including typer sub-apps others add."""
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if getattr(sub, "hidden", False):
            continue
        yield (*words, name), sub
        yield from walk(sub, (*words, name))


COMMANDS = dict(walk(cli.command()))


def help_of(words: tuple[str, ...]) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "vaultsync", *words, "--help"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_walk_finds_the_commands() -> None:
    assert {("sync",), ("restore",), ("sources",), ("help",)} <= COMMANDS.keys()


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_examples_and_is_in_the_readme(words: tuple[str, ...]) -> None:
    text = help_of(words)
    assert f"Usage: vaultsync {' '.join(words)}" in text
    rendered = [line.strip() for line in text.splitlines()]
    examples = [line for line in rendered if line.startswith("Example")]
    assert examples, f"`vaultsync {' '.join(words)} --help` has no Example line"
    for line in examples:
        assert re.match(r"Example[^:]*: vaultsync \S", line), line
    # Each example line as written is a whole line of the help, not folded into the
    # paragraph or wrapped mid-way (typer rewraps paragraphs that do not start with \b).
    written = [line.strip() for line in (COMMANDS[words].help or "").splitlines()]
    for line in written:
        if line.startswith("Example"):
            assert line in rendered, f"{line!r} is not a line of its own in:\n{text}"
    assert f"vaultsync {' '.join(words)}" in README, f"vaultsync {' '.join(words)} not in README"
    for bad in PYTHON_TYPES:
        assert bad not in text, f"`vaultsync {' '.join(words)} --help` shows {bad!r}:\n{text}"


def test_top_level_help_reads_like_a_command_line(env: Env) -> None:
    text = env.vs("--help").stdout
    for bad in PYTHON_TYPES:
        assert bad not in text, bad
    for flag in ("--vault PATH", "--json", "--quiet", "--version", "--show-completion SHELL"):
        assert flag in text


def test_help_command_prints_that_commands_help(env: Env) -> None:
    assert env.vs("help", "restore").stdout == env.vs("restore", "--help").stdout
    assert "Usage: vaultsync [OPTIONS] COMMAND" in env.vs("help").stdout
    assert "No such command 'frobnicate'" in env.vs("help", "frobnicate", code=2).stderr


def test_version(env: Env) -> None:
    assert env.vs("--version").stdout == f"vaultsync {__version__}\n"


def test_options_before_the_command_name(env: Env) -> None:
    other = env.root / "other-vault"
    env.vs("--vault", str(other), "init", "-q")
    assert (other / "vaultsync.toml").is_file() and not env.vault.exists()
    env.vs("--vault", str(other), "track", str(env.memories()), "-q")
    doc = json.loads(env.vs("--vault", str(other), "--json", "status").stdout)
    assert doc["vault"] == str(other)
    assert env.vs("-q", "--vault", str(other), "sync").stdout == ""
    # The command's own option wins over the one before its name.
    env.vs("init", "-q")
    doc = json.loads(
        env.vs("--vault", str(other), "status", "--vault", str(env.vault), "--json").stdout
    )
    assert doc["vault"] == str(env.vault)


def test_an_option_before_a_command_that_does_not_take_it_is_refused(env: Env) -> None:
    env.vs("init", "-q")
    err = env.vs("--json", "untrack", "x", code=2).stderr
    assert "--json does not apply to `vaultsync untrack`" in err


@pytest.mark.parametrize(
    ("argv", "same_as"),
    [
        (["--vault", "/tmp/v", "sync", "--quiet"], ["--vault", "/tmp/v", "--quiet"]),
        (["--vault=/tmp/v", "-q", "sync"], ["--vault", "/tmp/v", "--quiet"]),
        (["--json", "sync", "--no-push"], ["--json", "--no-push"]),
        (["--vault", "/tmp/a", "sync", "--vault", "/tmp/b"], ["--vault", "/tmp/b"]),
        (["--vault", "/v", "--json", "-q", "sync"], ["--vault", "/v", "--json", "-q"]),
    ],
)
def test_options_before_sync_take_the_fast_path(argv: list[str], same_as: list[str]) -> None:
    assert parse_argv(argv) == parse_sync(same_as) != None  # noqa: E711


@pytest.mark.parametrize("argv", [["--vault", "sync"], ["status", "sync"], ["--frob", "sync"]])
def test_anything_else_before_sync_goes_to_typer(argv: list[str]) -> None:
    assert parse_argv(argv) is None


def test_a_cron_sync_with_options_before_the_name_does_not_load_typer(env: Env) -> None:
    env.vs("init", "-q")
    env.vs("track", str(env.memories()), "-q")
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vaultsync", "--vault", str(env.vault)]
        + ["--json", "-q", "sync"],
        env=env.env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert " typer" not in out.stderr and "vaultsync.commands.sync" in out.stderr


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o default -F _vaultsync_completion vaultsync"),
        ("zsh", "compdef _vaultsync_completion vaultsync"),
        ("fish", "complete --command vaultsync"),
    ],
)
def test_show_completion_prints_the_script_for_that_shell(
    env: Env, shell: str, marker: str
) -> None:
    out = env.vs("--show-completion", shell).stdout
    assert marker in out and "_VAULTSYNC_COMPLETE" in out


def test_completion_completes_commands_and_options(env: Env) -> None:
    env.env.update(_VAULTSYNC_COMPLETE="complete_bash", COMP_WORDS="vaultsync untr", COMP_CWORD="1")
    assert env.vs().stdout.split() == ["untrack"]
    env.env.update(_VAULTSYNC_COMPLETE="complete_zsh", _TYPER_COMPLETE_ARGS="vaultsync sync --dry")
    assert "--dry-run" in env.vs().stdout


def test_completion_completes_source_names_of_the_vault_named(env: Env) -> None:
    other = env.root / "other"
    env.vs("--vault", str(other), "init", "-q")
    env.vs("--vault", str(other), "track", str(env.memories("claude")), "-q")
    words = f"vaultsync --vault {other} untrack cl"
    env.env.update(_VAULTSYNC_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD="4")
    assert env.vs().stdout.split() == ["claude"]
    words = f"vaultsync sync --vault {other} --source "
    env.env.update(COMP_WORDS=words, COMP_CWORD="5")
    assert env.vs().stdout.split() == ["claude"]


def test_show_completion_of_an_unknown_shell_is_a_usage_error(env: Env) -> None:
    assert "'ksh' is not one of bash" in env.vs("--show-completion", "ksh", code=2).stderr


def test_install_completion_for_bash(env: Env) -> None:
    # shellingham finds the shell among the parent processes: run under a real bash.
    out = env.vs("--install-completion", prefix=("bash", "-c", '"$0" "$@"; exit $?')).stdout
    assert "bash completion installed" in out
    assert "_VAULTSYNC_COMPLETE" in (env.home / ".bash_completions" / "vaultsync.sh").read_text()
    assert "vaultsync.sh" in (env.home / ".bashrc").read_text()
