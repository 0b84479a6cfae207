"""restore --at WHEN: real vault histories, through the command."""

from __future__ import annotations

import json
import os
import time

from tests.conftest import Env

MCP = "mem/mcp/memory.jsonl"
RECORD = "mem/records/second-brain/31162427-3bfd-1d33-8d00-38ec42650644.json"
ENTITY = '{"type":"entity","name":"%s","entityType":"person","observations":[]}'


def commit_version(env: Env, text: str) -> str:
    (env.home / MCP).write_text(text)
    env.vs("sync")
    return env.git("rev-parse", "HEAD").strip()


def test_restore_a_file_at_a_commit_and_undo_it(synced: Env) -> None:
    first = synced.git("rev-parse", "HEAD").strip()
    original = synced.git("show", f"HEAD:{MCP}")
    commit_version(synced, ENTITY % "second")
    # An unsynced edit on disk: restore must keep it recoverable.
    (synced.home / MCP).write_text(ENTITY % "unsynced")
    proc = synced.vs("restore", "--at", first, MCP, "--yes")
    assert (synced.home / MCP).read_text() == original
    assert "pre-restore snapshot" in proc.stdout
    snapshot = synced.git("rev-parse", "HEAD").strip()
    assert "pre-restore snapshot" in synced.git("log", "-1", "--format=%s")
    assert synced.git("show", f"{snapshot}:{MCP}") == ENTITY % "unsynced"
    # Undo: restore the snapshot.
    synced.vs("restore", "--at", snapshot, str(synced.home / MCP), "--yes")
    assert (synced.home / MCP).read_text() == ENTITY % "unsynced"


def test_restore_by_date_picks_the_last_commit_at_or_before_it(synced: Env) -> None:
    original = synced.git("show", f"HEAD:{MCP}")
    stamp = synced.git("log", "-1", "--format=%cI").strip()
    time.sleep(1.1)
    commit_version(synced, ENTITY % "later")
    synced.vs("restore", "--at", stamp, MCP, "--yes")
    assert (synced.home / MCP).read_text() == original
    synced.vs("restore", "--at", "now", MCP, "--yes")
    assert (synced.home / MCP).read_text() == ENTITY % "later"


def test_bad_when_is_exit_2(synced: Env) -> None:
    err = synced.vs("restore", "--at", "2001-01-01", MCP, "--yes", code=2).stderr
    assert "before the vault's first commit" in err
    err = synced.vs("restore", "--at", "last tuesday", MCP, "--yes", code=2).stderr
    assert "neither a commit of this vault nor a date" in err
    assert "--at WHEN is required" in synced.vs("restore", MCP, code=2).stderr


def test_deleted_files_come_back_and_new_files_stay(synced: Env) -> None:
    at = synced.git("rev-parse", "HEAD").strip()
    (synced.home / RECORD).unlink()
    (synced.home / "mem" / "new.json").write_text("{}")
    synced.vs("sync")
    doc = json.loads(synced.vs("restore", "--at", at, "--yes", "--json").stdout)
    actions = {f["path"]: f["action"] for f in doc["files"]}
    assert actions[RECORD] == "create"
    assert actions[MCP] == "unchanged"
    assert (synced.home / RECORD).exists()
    assert (synced.home / "mem" / "new.json").exists()


def test_dry_run_lists_and_changes_nothing(synced: Env) -> None:
    at = synced.git("rev-parse", "HEAD").strip()
    commit_version(synced, ENTITY % "second")
    (synced.home / RECORD).unlink()
    before = (synced.home / MCP).read_text()
    out = synced.vs("restore", "--at", at, "--dry-run").stdout
    assert f"would overwrite {synced.home / MCP}" in out
    assert f"would create    {synced.home / RECORD}" in out
    assert (synced.home / MCP).read_text() == before
    assert not (synced.home / RECORD).exists()


def test_overwriting_needs_yes_without_a_terminal(synced: Env) -> None:
    at = synced.git("rev-parse", "HEAD").strip()
    commit_version(synced, ENTITY % "second")
    err = synced.vs("restore", "--at", at, MCP, code=2, input="").stderr
    assert "would overwrite 1 file(s)" in err and "--yes" in err
    assert (synced.home / MCP).read_text() == ENTITY % "second"


def test_restore_to_a_folder_leaves_sources_alone(synced: Env) -> None:
    at = synced.git("rev-parse", "HEAD").strip()
    commit_version(synced, ENTITY % "second")
    out = synced.root / "out"
    synced.vs("restore", "--at", at, "mem/records", "--to", str(out))
    assert (out / RECORD).read_text() == (synced.home / RECORD).read_text()
    assert not (out / MCP).exists()
    assert (synced.home / MCP).read_text() == ENTITY % "second"


def test_existing_files_keep_their_mode(synced: Env) -> None:
    at = synced.git("rev-parse", "HEAD").strip()
    commit_version(synced, ENTITY % "second")
    os.chmod(synced.home / MCP, 0o640)
    synced.vs("restore", "--at", at, MCP, "--yes")
    assert os.stat(synced.home / MCP).st_mode & 0o777 == 0o640


def test_restore_path_not_in_vault(synced: Env) -> None:
    err = synced.vs("restore", "--at", "HEAD", "mem/nope.json", "--yes", code=2).stderr
    assert "not in the vault at 'HEAD'" in err


def test_restore_takes_the_lock(synced: Env) -> None:
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time;from pathlib import Path;from vaultsync.fsutil import VaultLock;"
            "VaultLock(Path(sys.argv[1])).acquire();print('held',flush=True);time.sleep(30)",
            str(synced.vault / ".vaultsync" / "lock"),
        ],
        env=synced.env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        (synced.home / RECORD).unlink()
        synced.vs("restore", "--at", "HEAD", RECORD, "--yes", code=3)
    finally:
        holder.kill()
        holder.wait()
