"""The per-source git index: git's C code compares the stat data, and losing or damaging
the index costs time, never a missed change or a spurious commit."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import Env
from vaultsync import gitindex, state
from vaultsync.reader import blob_id

RECORD = "mem/records/second-brain/31162427-3bfd-1d33-8d00-38ec42650644.json"


def index_of(env: Env) -> Path:
    return env.vault / ".vaultsync" / "index" / "mem"


def test_last_sync_names_the_index_it_was_saved_with(synced: Env) -> None:
    saved = state.load(synced.vault)
    assert saved is not None
    assert saved.indexes["mem"] == gitindex.checksum(index_of(synced))
    assert "" in saved.dirs["mem"]  # the source's folders, by stat


def test_an_in_place_edit_is_found_by_git(synced: Env) -> None:
    path = synced.home / RECORD
    with open(path, "r+b") as f:  # rewritten in place: the folder's mtime does not move
        f.write(path.read_bytes().replace(b"Obsidian", b"OBSIDIAN"))
    doc = json.loads(synced.vs("sync", "--json").stdout)
    assert doc["modified"] == [RECORD]
    assert synced.git("show", f"HEAD:{RECORD}").encode() == path.read_bytes()
    assert "nothing changed" in synced.vs("sync").stdout


def _damage(index: Path, how: str) -> None:
    if how == "deleted":
        index.unlink()
    elif how == "truncated":
        index.write_bytes(index.read_bytes()[:40])
    elif how == "garbage":
        index.write_bytes(b"\x00" * 4096)
    elif how == "another version":
        data = bytearray(index.read_bytes())
        data[4:8] = (99).to_bytes(4, "big")  # DIRC version 99 (the checksum then fails too)
        index.write_bytes(bytes(data))
    elif how == "folder":
        index.unlink()
        index.mkdir()
    elif how == "fifo":
        index.unlink()
        os.mkfifo(index)


@pytest.mark.parametrize(
    "how", ["deleted", "truncated", "garbage", "another version", "folder", "fifo"]
)
def test_a_damaged_index_costs_time_never_a_change(synced: Env, how: str) -> None:
    _damage(index_of(synced), how)
    before = synced.commits()
    assert "nothing changed" in synced.vs("sync", timeout=60).stdout
    assert synced.commits() == before
    (synced.home / "mem" / "new.json").write_text('{"id": "n", "content": "c"}')
    _damage(index_of(synced), how if how != "folder" else "garbage")
    doc = json.loads(synced.vs("sync", "--json", timeout=60).stdout)
    assert doc["added"] == ["mem/new.json"] and doc["deleted"] == []
    saved = state.load(synced.vault)
    assert saved is not None and saved.indexes["mem"] == gitindex.checksum(index_of(synced))


def test_an_index_of_another_state_is_not_trusted(synced: Env) -> None:
    # A stale index (from before the last sync) is not the one `.last_sync` names.
    stale = index_of(synced).read_bytes()
    path = synced.home / RECORD
    with open(path, "r+b") as f:
        f.write(path.read_bytes().replace(b"Obsidian", b"OBSIDIAN"))
    synced.vs("sync")
    index_of(synced).write_bytes(stale)
    with open(path, "r+b") as f:
        f.write(path.read_bytes().replace(b"OBSIDIAN", b"obsidian"))
    doc = json.loads(synced.vs("sync", "--json").stdout)
    assert doc["modified"] == [RECORD]


def test_the_index_records_a_stat_only_for_the_committed_content(tmp_path: Path) -> None:
    """The proof that the bytes committed are what the index vouches for: an entry whose
    file on disk no longer hashes to the committed blob is never refreshed to clean."""
    vault, src = tmp_path / "vault", tmp_path / "src"
    src.mkdir()
    subprocess.run(["git", "init", "-q", str(vault)], check=True)
    committed = b'{"v": 1}'
    (src / "a.json").write_bytes(b'{"v": 2}')  # changed after the commit was read
    (src / "b.json").write_bytes(committed)
    st = state.State(head=None, scanned_ns=1)
    for name in ("a.json", "b.json"):
        st.put(f"s/{name}", state.Entry(len(committed), 1, 1, 1, blob_id(committed)))
    st.roots["s"] = str(src)
    gitindex.update(vault, st)
    assert st.indexes["s"] == gitindex.checksum(gitindex.index_path(vault, "s"))
    assert gitindex.modified(vault, "s", str(src)) == {"a.json"}
    st.touched.clear()
    st.put("s/a.json", state.Entry(8, 1, 1, 1, blob_id(b'{"v": 2}')))  # the next commit
    gitindex.update(vault, st)
    assert gitindex.modified(vault, "s", str(src)) == set()


def test_deleting_last_sync_discards_the_index_with_it(synced: Env) -> None:
    (synced.vault / ".last_sync").unlink()
    path = synced.home / RECORD
    with open(path, "r+b") as f:
        f.write(path.read_bytes().replace(b"Obsidian", b"OBSIDIAN"))
    doc = json.loads(synced.vs("sync", "--json").stdout)
    assert doc["modified"] == [RECORD]
    saved = state.load(synced.vault)
    assert saved is not None and saved.indexes["mem"] == gitindex.checksum(index_of(synced))


def test_a_folder_with_a_held_deletion_is_visited_under_an_unchanged_parent(env: Env) -> None:
    """A folder with deletions held is not "fully accounted for", but it still exists: a
    later scan that skips its unchanged parent must still visit it, not take it for
    gone as a whole (which deleted the files still on disk)."""
    folder = env.home / "mem" / "projects" / "app"
    folder.mkdir(parents=True)
    for i in range(8):
        (folder / f"s{i}.json").write_text(json.dumps({"id": f"s{i}", "content": "c"}))
    notes = env.home / "mem" / "notes.json"
    notes.write_text('{"id": "n", "content": "one"}')
    env.vs("init")
    env.vs("track", str(env.home / "mem"))
    env.vs("sync")
    time.sleep(state.RACY_WINDOW_NS / 1e9 + 0.1)  # else the parents are listed again (racy)
    for i in range(6):
        (folder / f"s{i}.json").unlink()
    with open(notes, "r+b") as f:  # in place: the parents' stat stays, the state is saved
        f.write(b'{"id": "n", "content": "two"}')
    held = json.loads(env.vs("sync", "--json", code=1).stdout)
    assert held["modified"] == ["mem/notes.json"] and held["deleted"] == []
    doc = json.loads(env.vs("sync", "--allow-delete", "--json").stdout)
    assert doc["deleted"] == [f"mem/projects/app/s{i}.json" for i in range(6)]
    assert {p for p in env.head_files() if p.startswith("mem/projects/")} == {
        "mem/projects/app/s6.json",
        "mem/projects/app/s7.json",
    }


def test_a_prefetched_answer_is_used_only_for_the_index_the_state_names(synced: Env) -> None:
    """git's pass starts before the lock is taken (gitindex.prefetch): if the index
    changed meanwhile (another sync saved its state), that answer is not used."""
    path = synced.home / RECORD
    with open(path, "r+b") as f:
        f.write(path.read_bytes().replace(b"Obsidian", b"OBSIDIAN"))
    rel = RECORD.partition("/")[2]
    root = str(synced.home / "mem")
    saved = state.load(synced.vault)
    assert saved is not None
    gitindex.prefetch(["--vault", str(synced.vault), "sync"])
    assert gitindex.modified(synced.vault, "mem", root, saved.indexes["mem"]) == {rel}
    gitindex.prefetch(["--vault", str(synced.vault), "sync"])  # answers {rel}, then:
    synced.vs("sync")  # commits the edit: a new index and a state that names it
    now = state.load(synced.vault)
    assert now is not None and now.indexes["mem"] != saved.indexes["mem"]
    assert gitindex.modified(synced.vault, "mem", root, now.indexes["mem"]) == set()
