"""Output that cannot be written (stdout closed, a full disk, a reader gone) and a git
that cannot be started: never a traceback or exit 70, and the command's own work (the
commit, the state) is done."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Env


def _sh(env: Env, redirect: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`vaultsync ARGS` with its stdout (and maybe stderr) redirected by a shell."""
    cmd = f'exec "$@" {redirect}'
    proc = subprocess.run(
        ["sh", "-c", cmd, "sh", sys.executable, "-m", "vaultsync", *args],
        env=env.env, cwd=env.root, capture_output=True, text=True, timeout=120,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _changed(synced: Env, n: int) -> None:
    (synced.home / "mem" / "out.json").write_text(json.dumps({"id": "o", "content": str(n)}))


@pytest.mark.parametrize(
    ("redirect", "why"), [(">&-", "it is closed"), (">/dev/full", "No space left on device")]
)
@pytest.mark.parametrize("json_out", [False, True])
def test_a_sync_whose_stdout_cannot_be_written_commits_and_says_so(
    synced: Env, redirect: str, why: str, json_out: bool
) -> None:
    _changed(synced, 1)
    before = synced.commits()
    proc = _sh(synced, redirect, "sync", *(["--json"] if json_out else []))
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == [
        f"vaultsync: error: cannot write the output to stdout ({why}); "
        "what the command did is done, only its output is lost"
    ]
    assert synced.commits() == before + 1
    assert '"content": "1"' in synced.git("show", "HEAD:mem/out.json")
    assert "nothing changed" in synced.vs("sync").stdout  # the state was saved too


def test_a_sync_quiet_with_stdout_closed_has_nothing_to_lose(synced: Env) -> None:
    _changed(synced, 2)
    proc = _sh(synced, ">&-", "sync", "-q")
    assert (proc.returncode, proc.stderr) == (0, "")


@pytest.mark.parametrize("args", [["status"], ["log"], ["sources"], ["--help"], ["--version"]])
def test_other_commands_into_a_full_disk_exit_1_in_one_line(synced: Env, args: list[str]) -> None:
    proc = _sh(synced, ">/dev/full", *args)
    assert proc.returncode == 1, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "No space left on device" in proc.stderr


def test_stdout_and_stderr_both_unwritable_still_commit(synced: Env) -> None:
    _changed(synced, 3)
    before = synced.commits()
    proc = _sh(synced, ">/dev/full 2>/dev/full", "sync")
    assert proc.returncode == 1
    assert synced.commits() == before + 1


def test_a_sync_into_a_pipe_closed_at_once_commits_and_ends_quietly(synced: Env) -> None:
    _changed(synced, 4)
    before = synced.commits()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vaultsync", "sync", "--json"],
        env=synced.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # `| head -0`: EPIPE on the first write
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err  # as git does (README: Pipes)
    assert err == ""
    assert synced.commits() == before + 1
    assert "nothing changed" in synced.vs("sync").stdout


@pytest.mark.parametrize(
    "args", [["sync"], ["log"], ["status"], ["verify"], ["restore", "--at", "HEAD", "--yes"]]
)
def test_a_git_that_cannot_be_started_is_a_clear_error_not_exit_70(
    synced: Env, args: list[str]
) -> None:
    # execve fails with ENOEXEC (as it would with ENOMEM or EAGAIN): an OSError from
    # starting git, not a git that failed.
    bad = synced.root / "badgit"
    bad.mkdir()
    (bad / "git").write_bytes(b"\x7fELF not a program")
    (bad / "git").chmod(0o755)
    _changed(synced, 5)
    env = {**synced.env, "PATH": str(bad)}
    proc = subprocess.run([sys.executable, "-m", "vaultsync", *args], env=env,
                          cwd=synced.root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "vaultsync: error: cannot start git: Exec format error" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_too_few_file_descriptors_is_a_clear_error_not_exit_70(synced: Env) -> None:
    _changed(synced, 6)
    limited = subprocess.run(
        ["sh", "-c", 'ulimit -n 9 && exec "$@"', "sh", sys.executable, "-m", "vaultsync", "sync"],
        env=synced.env, cwd=synced.root, capture_output=True, text=True, timeout=120,
    )
    assert limited.returncode == 1, limited
    assert "Too many open files" in limited.stderr and "Traceback" not in limited.stderr


def _installed_copy(synced: Env) -> Path:
    """vaultsync's files copied as an installation a test may damage."""
    root = Path(__file__).resolve().parent.parent
    copy = synced.root / "install"
    for part in ("vaultsync", "schemas", "hooks"):
        shutil.copytree(root / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def _run_copy(synced: Env, copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """That copy run; as root without the capability that reads files of mode 000."""
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        assert shutil.which("setpriv"), "setpriv (util-linux) is needed to test this as root"
        prefix = ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--")
    env = {**synced.env, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "vaultsync", *args],
        env=env, cwd=synced.root, capture_output=True, text=True, timeout=120,
    )


def test_a_module_of_its_own_that_cannot_be_read_mid_run_is_said_not_a_crash(
    synced: Env,
) -> None:
    # Found by scripts/torture (open(2) failing mid-run): a lazily imported module that
    # could not be read was "internal error", exit 70, or a bare traceback.
    copy = _installed_copy(synced)
    (copy / "vaultsync" / "memmerge.py").chmod(0)  # only `restore --merge` imports it
    proc = _run_copy(synced, copy, "restore", "--at", "HEAD", "--merge", "--yes")
    assert proc.returncode == 1, proc.stderr
    assert "cannot load its own code (Permission denied" in proc.stderr, proc.stderr
    assert "memmerge.py" in proc.stderr and "Traceback" not in proc.stderr


def test_a_shipped_schema_that_cannot_be_read_mid_run_is_said_not_a_crash(
    synced: Env,
) -> None:
    # Found by scripts/torture's faults part (open(2) failing with EIO, p=0.2): restore
    # read a shipped schema for the first time while planning, the read failed and the
    # run ended "internal error", exit 70, although it is the installation's disk.
    _changed(synced, 7)
    assert synced.vs("sync").returncode == 0
    _changed(synced, 8)
    assert synced.vs("sync").returncode == 0  # nothing unsynced: restore plans at once
    copy = _installed_copy(synced)
    for schema in (copy / "schemas").glob("*.schema.json"):
        schema.chmod(0)
    proc = _run_copy(synced, copy, "restore", "--at", "HEAD~1", "--yes")
    assert proc.returncode == 1, proc.stderr
    assert "cannot load its own code (Permission denied" in proc.stderr, proc.stderr
    assert ".schema.json" in proc.stderr and "Traceback" not in proc.stderr
    assert '"content": "8"' in (synced.home / "mem" / "out.json").read_text()  # untouched
