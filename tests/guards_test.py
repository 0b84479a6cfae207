from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Env

HOLD_LOCK = """
import sys, time
from pathlib import Path
from vaultsync.fsutil import VaultLock
VaultLock(Path(sys.argv[1])).acquire()
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""

HOLD_OPEN = """
import sys, time
f = open(sys.argv[1], "a")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def hold(env: Env, script: str, path: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(path), str(seconds)],
        env=env.env,
        cwd=env.root,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def test_a_second_sync_exits_3_naming_the_holder(synced: Env) -> None:
    holder = hold(synced, HOLD_LOCK, synced.vault / ".vaultsync" / "lock", 30)
    try:
        err = synced.vs("sync", code=3).stderr
        assert f"another vaultsync (pid {holder.pid}) is syncing this vault" in err
        assert "--wait" in err
    finally:
        holder.kill()
        holder.wait()


def test_wait_outlasts_a_short_holder(synced: Env) -> None:
    holder = hold(synced, HOLD_LOCK, synced.vault / ".vaultsync" / "lock", 1)
    try:
        synced.vs("sync", "--wait", "30")
    finally:
        holder.wait()


def test_a_killed_syncs_lock_never_blocks_the_next_run(synced: Env) -> None:
    holder = hold(synced, HOLD_LOCK, synced.vault / ".vaultsync" / "lock", 60)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert (synced.vault / ".vaultsync" / "lock").exists()
    (synced.home / "mem" / "a.json").write_text("{}")
    assert "committed" in synced.vs("sync").stdout


@pytest.mark.parametrize("lock", ["refs/heads/main.lock", "HEAD.lock", "packed-refs.lock"])
def test_a_ref_lock_left_by_a_killed_git_never_blocks_the_next_commit(
    synced: Env, lock: str
) -> None:
    """Found by scripts/torture's crash part: a git killed while updating the branch left
    refs/heads/main.lock, and every later sync failed with "cannot lock ref"."""
    (synced.vault / ".git" / lock).write_text("")
    (synced.home / "mem" / "a.json").write_text('{"id": "after the crash"}')
    done = synced.vs("sync")
    assert done.returncode == 0, done.stderr
    assert "committed" in done.stdout
    assert not (synced.vault / ".git" / lock).exists()
    shown = subprocess.run(
        ["git", "show", "HEAD:" + "mem/a.json"], cwd=synced.vault, capture_output=True
    )
    assert b"after the crash" in shown.stdout


def test_a_sync_killed_mid_run_loses_nothing(synced: Env) -> None:
    mem = synced.home / "mem" / "bulk"
    mem.mkdir()
    for i in range(3000):
        (mem / f"{i}.json").write_text(json.dumps({"id": str(i), "content": "x" * 200}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "vaultsync", "sync"],
        env=synced.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Killed mid-commit, not at a guessed moment: once fast-import is writing the pack.
    pack = synced.vault / ".git" / "objects" / "pack"
    while proc.poll() is None and not any(p.name.startswith("tmp_pack_") for p in pack.iterdir()):
        pass
    assert proc.poll() is None, "the sync finished before it was seen committing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    synced.vs("sync", "--wait", "10")
    files = synced.head_files()
    assert all(f"mem/bulk/{i}.json" in files for i in range(3000))
    assert synced.git("fsck", "--no-progress") == ""
    assert synced.git("status", "--porcelain") == ""


def test_stale_index_lock_is_removed(synced: Env) -> None:
    (synced.vault / ".git" / "index.lock").write_text("")
    (synced.home / "mem" / "a.json").write_text("{}")
    synced.vs("sync")
    assert not (synced.vault / ".git" / "index.lock").exists()
    assert synced.git("status", "--porcelain") == ""


def test_index_lock_held_by_a_live_process_is_left_alone(synced: Env) -> None:
    lock = synced.vault / ".git" / "index.lock"
    holder = hold(synced, HOLD_OPEN, lock, 60)
    try:
        (synced.home / "mem" / "a.json").write_text("{}")
        err = synced.vs("sync", code=3).stderr
        assert f"is held by a running process (pid {holder.pid})" in err
        assert lock.exists()
    finally:
        holder.kill()
        holder.wait()


def test_a_live_git_holding_index_lock_makes_sync_exit_3_and_is_left_alone(synced: Env) -> None:
    # A real git (an orphaned child of a killed run, say) in the middle of its work:
    # `update-index --stdin` takes index.lock and holds it while its input stays open.
    lock = synced.vault / ".git" / "index.lock"
    git = subprocess.Popen(["git", "update-index", "--stdin"], cwd=synced.vault,
                           env=synced.env, stdin=subprocess.PIPE)
    assert git.stdin is not None
    try:
        deadline = time.monotonic() + 30
        while not lock.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        ino = lock.stat().st_ino
        head = synced.git("rev-parse", "HEAD")
        (synced.home / "mem" / "a.json").write_text('{"id": "a", "content": "c"}')
        err = synced.vs("sync", code=3).stderr
        assert f"is held by a running process (pid {git.pid})" in err
        assert lock.stat().st_ino == ino  # not deleted, not replaced
        assert synced.git("rev-parse", "HEAD") == head
    finally:
        git.stdin.close()
        git.wait(timeout=30)
    assert git.returncode == 0  # its own work finished, undisturbed
    assert synced.git("fsck", "--full", "--no-progress") == ""
    synced.vs("sync")
    assert "mem/a.json" in synced.head_files()


def test_a_shell_idle_in_the_vault_does_not_hold_a_stale_index_lock(synced: Env) -> None:
    import subprocess

    lock = synced.vault / ".git" / "index.lock"
    lock.write_text("")  # left by a killed git
    shell = subprocess.Popen(["sleep", "60"], cwd=synced.vault)  # the user `cd`'d there
    try:
        (synced.home / "mem" / "a.json").write_text("{}")
        synced.vs("sync")
        assert not lock.exists()
        assert "mem/a.json" in synced.head_files()
    finally:
        shell.kill()
        shell.wait()


def test_unavailable_source_deletes_nothing(synced: Env) -> None:
    before = synced.head_files()
    (synced.home / "mem").rename(synced.home / "unmounted")
    proc = synced.vs("sync", "--json", code=1)
    doc = json.loads(proc.stdout)
    assert doc["deleted"] == [] and doc["commit"] is None
    assert "source 'mem' is unavailable" in doc["unavailable"][0]
    assert "nothing of it was deleted" in proc.stderr
    assert synced.head_files() == before


def test_mass_deletion_is_held_but_other_changes_go_in(env: Env) -> None:
    mem = env.records("many", 10)
    for i in range(6):
        (mem / f"{i}.json").unlink()
    (mem / "9.json").write_text('{"id": "9", "content": "edited"}')
    proc = env.vs("sync", "--json", code=1)
    doc = json.loads(proc.stdout)
    assert doc["deleted"] == [] and doc["modified"] == ["many/9.json"]
    assert "6 of 10 files were deleted" in doc["held"][0]
    assert "--allow-delete" in proc.stderr
    assert "many/0.json" in env.head_files()
    # Still held next time, until allowed.
    env.vs("sync", code=1)
    doc = json.loads(env.vs("sync", "--allow-delete", "--json").stdout)
    assert len(doc["deleted"]) == 6
    assert "many/0.json" not in env.head_files()


def test_few_deletions_are_not_held(env: Env) -> None:
    mem = env.records("few", 4)
    for i in range(4):
        (mem / f"{i}.json").unlink()  # all of them, but fewer than 5
    assert len(json.loads(env.vs("sync", "--json").stdout)["deleted"]) == 4


def test_unreadable_file_is_reported_and_the_rest_syncs(synced: Env) -> None:
    secret = synced.home / "mem" / "locked.json"
    secret.write_text('{"id": "l", "content": "private"}')
    secret.chmod(0)
    (synced.home / "mem" / "open.json").write_text("{}")
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        # Root reads anything; without these capabilities it obeys the mode bits.
        assert shutil.which("setpriv"), "setpriv (util-linux) is needed to test this as root"
        prefix = ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--")
    doc = json.loads(synced.vs("sync", "--json", code=1, prefix=prefix).stdout)
    assert doc["added"] == ["mem/open.json"]
    assert doc["rejected"] == [
        {"path": "mem/locked.json", "reason": "permission denied (check the file's owner and mode)"}
    ]


def test_fifo_is_skipped_with_a_warning(synced: Env) -> None:
    os.mkfifo(synced.home / "mem" / "pipe.json")
    (synced.home / "mem" / "a.json").write_text("{}")
    proc = synced.vs("sync", "--json")
    assert json.loads(proc.stdout)["added"] == ["mem/a.json"]
    assert "pipe.json: not a regular file" in proc.stderr


def test_symlinks_are_followed_only_inside_the_source(synced: Env) -> None:
    outside = synced.root / "outside.json"
    outside.write_text('{"id": "o", "content": "not mine to copy"}')
    mem = synced.home / "mem"
    (mem / "out.json").symlink_to(outside)
    (mem / "in.json").symlink_to(mem / "mcp" / "memory.jsonl")
    (mem / "loop").symlink_to(mem)  # a folder loop must not hang the scan
    proc = synced.vs("sync", "--json")
    doc = json.loads(proc.stdout)
    assert doc["added"] == ["mem/in.json"]
    assert "out.json: symlink points outside the source" in proc.stderr


def test_initial_import_leaves_no_loose_objects(env: Env) -> None:
    env.records("bulk", 500)
    counts = dict(line.split(": ") for line in env.git("count-objects", "-v").splitlines())
    # The 500 blobs went into a pack; the few loose objects are init's and track's
    # (fast-import unpacks imports under fastimport.unpackLimit, 100 objects).
    assert int(counts["in-pack"]) >= 500
    assert int(counts["count"]) < 20
    assert env.git("status", "--porcelain") == ""


@pytest.mark.parametrize("args", [["sync", "--wait", "x"], ["frobnicate"], ["track"]])
def test_usage_errors_exit_2(env: Env, args: list[str]) -> None:
    env.vs(*args, code=2)


PAUSING_GIT = """#!/bin/sh
# The real git; a fast-import or update-ref (the first sync's commit, under the vault's
# lock) first says so and waits until the test lets it go.
case " $* " in *" fast-import "*|*" update-ref "*) : > "$PAUSE_DIR/started"
  while [ ! -e "$PAUSE_DIR/go" ]; do sleep 0.01; done;; esac
exec "$REAL_GIT" "$@"
"""


def test_a_second_real_sync_exits_3_while_the_first_runs(synced: Env) -> None:
    (synced.home / "mem" / "new.json").write_text('{"id": "n", "content": "c"}')
    bin_dir = synced.root / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").write_text(PAUSING_GIT)
    (bin_dir / "git").chmod(0o755)
    real = shutil.which("git")
    assert real is not None
    first_env = {**synced.env, "PATH": f"{bin_dir}:{synced.env['PATH']}", "REAL_GIT": real,
                 "PAUSE_DIR": str(synced.root)}
    first = subprocess.Popen(
        [sys.executable, "-m", "vaultsync", "sync", "-q"],
        env=first_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not (synced.root / "started").exists():  # the first is committing
            assert first.poll() is None, first.stderr.read() if first.stderr else ""
            time.sleep(0.01)
        second = synced.vs("sync", code=3)
        assert f"another vaultsync (pid {first.pid}) is syncing this vault" in second.stderr
    finally:
        (synced.root / "go").touch()
        first.wait(timeout=120)
    assert first.returncode == 0
    assert "mem/new.json" in synced.head_files()


def test_a_config_edit_that_drops_sources_is_held(synced: Env) -> None:
    """A truncated vaultsync.toml that still parses (every source gone) used to be
    committed, and every later sync, here and on each clone, was a silent no-op."""
    config = synced.vault / "vaultsync.toml"
    text = config.read_text()
    config.write_text(text[: text.index("[[sources]]")])
    before = synced.commits()
    err = synced.vs("sync", code=1).stderr
    assert "no longer has the source(s) mem" in err and "vaultsync untrack" in err
    assert synced.commits() == before
    assert "[[sources]]" in synced.git("show", "HEAD:vaultsync.toml")
    synced.vs("sync", code=1)  # held every run until it is put right, not once
    # Meant: --allow-delete commits it.
    synced.vs("sync", "--allow-delete", code=1)  # exit 1: now no source is tracked
    assert "[[sources]]" not in synced.git("show", "HEAD:vaultsync.toml")


def test_a_config_edit_that_keeps_sources_is_committed(synced: Env) -> None:
    config = synced.vault / "vaultsync.toml"
    config.write_text(config.read_text().replace("max_delete = 0.5", "max_delete = 0.6"))
    synced.vs("sync")
    assert "max_delete = 0.6" in synced.git("show", "HEAD:vaultsync.toml")
