from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import Env

RECORD = "mem/records/second-brain/31162427-3bfd-1d33-8d00-38ec42650644.json"


def src(env: Env, vp: str = RECORD) -> Path:
    return env.home / vp


def test_same_size_edit_in_the_same_tick_is_not_missed(synced: Env) -> None:
    path = src(synced)
    st = os.stat(path)
    data = path.read_bytes()
    edited = data.replace(b"Obsidian", b"OBSIDIAN")
    assert len(edited) == len(data)
    path.write_bytes(edited)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # the same size and mtime as before
    assert os.stat(path).st_mtime_ns == st.st_mtime_ns
    doc = json.loads(synced.vs("sync", "--json").stdout)
    assert doc["modified"] == [RECORD]
    assert synced.git("show", f"HEAD:{RECORD}").encode() == edited


@pytest.mark.parametrize("damage", ["missing", "truncated", "garbage", "future-version"])
def test_lost_state_costs_time_not_data(synced: Env, damage: str) -> None:
    state = synced.vault / ".last_sync"
    if damage == "missing":
        state.unlink()
    elif damage == "truncated":
        state.write_bytes(state.read_bytes()[:50])
    elif damage == "garbage":
        state.write_bytes(b"\x00\xff not json")
    else:
        doc = json.loads(state.read_text())
        doc["version"] = 99
        state.write_text(json.dumps(doc))
    before = synced.commits()
    assert "nothing changed" in synced.vs("sync").stdout  # no spurious commit
    assert synced.commits() == before
    assert json.loads(state.read_text())["version"] == 1  # rebuilt


def test_rebuilt_state_still_finds_changes_and_never_infers_deletions(synced: Env) -> None:
    (synced.vault / ".last_sync").unlink()
    src(synced).write_text('{"id": "x", "content": "changed while the state was lost"}')
    (synced.home / "mem" / "mem0" / "memories.json").unlink()
    doc = json.loads(synced.vs("sync", "--json").stdout)
    assert doc["modified"] == [RECORD]
    assert doc["deleted"] == []
    assert "mem/mem0/memories.json" in synced.head_files()


def test_a_hand_made_commit_in_the_vault_is_noticed(synced: Env) -> None:
    # Someone edits the vault copy by hand: the source on disk no longer equals HEAD.
    (synced.vault / RECORD).write_text('{"id": "x", "content": "hand edit"}')
    synced.git("commit", "-qam", "hand edit")
    doc = json.loads(synced.vs("sync", "--json").stdout)
    assert doc["modified"] == [RECORD]
    assert synced.git("show", f"HEAD:{RECORD}") == src(synced).read_text()


def test_full_hashes_everything_but_commits_only_changes(synced: Env) -> None:
    before = synced.commits()
    assert "nothing changed" in synced.vs("sync", "--full").stdout
    assert synced.commits() == before


def test_state_holds_stat_and_blob_per_file(synced: Env) -> None:
    doc = json.loads((synced.vault / ".last_sync").read_text())
    assert doc["head"] == synced.git("rev-parse", "HEAD").strip()
    size, mtime_ns, ctime_ns, ino, blob = doc["files"]["mem"]["records/second-brain"][
        RECORD.rsplit("/", 1)[1]
    ]
    st = os.stat(src(synced))
    assert [size, mtime_ns, ctime_ns, ino] == [
        st.st_size,
        st.st_mtime_ns,
        st.st_ctime_ns,
        st.st_ino,
    ]
    assert blob == synced.git("rev-parse", f"HEAD:{RECORD}").strip()
    assert ".last_sync" not in synced.head_files()
