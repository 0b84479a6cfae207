"""A big source's journal (statejournal): a sync that changes a few of its entries writes
them to the journal, not the whole detail file again; loading replays it; the detail is
written whole once the journal grows; and every kind of damage to the journal costs a
rebuild of that source, never data, never a spurious commit or an inferred deletion."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from tests.conftest import Env
from vaultsync import state, statefile, statejournal

N = statejournal.JOURNAL_FROM + 200  # a source big enough to keep a journal


def entry(i: int, rev: int = 0) -> state.Entry:
    return state.Entry(100 + i, 2**61 + i + rev, 2**60 + i, 5000 + i, f"{i + rev:040x}")


def big_state(vault: Path) -> state.State:
    st = state.State(head=None, scanned_ns=5)
    st.put_all((f"big/f{i % 3}/{i:05}.json", list(entry(i)[:4]), entry(i).blob) for i in range(N))
    st.put("small/x.json", entry(1))
    state.save(vault, st)
    return st


def reload(vault: Path) -> state.State:
    st = state.load(vault)
    assert st is not None
    return st


def entries_of(st: state.State, source: str) -> dict[str, state.Entry]:
    return {
        f"{folder}/{name}": e
        for folder, f in st.files[source].items()
        for name, e in sorted(f.as_dict().items())
    }


def change_some(vault: Path, rev: int) -> state.State:
    """A sync's worth of changes: modified, added (in a new folder too), dropped."""
    st = reload(vault)
    for i in range(0, 60, 3):
        st.put(f"big/f{i % 3}/{i:05}.json", entry(i, rev))
    st.put(f"big/f1/new-{rev}.json", entry(7, rev))
    st.put(f"big/new-folder/{rev}.json", entry(8, rev))
    st.drop(f"big/f2/{3 * rev + 2:05}.json")
    state.save(vault, st)
    return st


def test_a_few_changes_go_to_the_journal_and_load_back(tmp_path: Path) -> None:
    big_state(tmp_path)
    detail = statefile.detail_path(tmp_path, "big").read_bytes()
    expected = None
    for rev in (1, 2, 3):
        expected = entries_of(change_some(tmp_path, rev), "big")
    assert statefile.detail_path(tmp_path, "big").read_bytes() == detail  # not rewritten
    journal = json.loads(statejournal.path_of(tmp_path, "big").read_bytes())
    assert len(journal["rows"]) == 20 + 2 * 3 + 3  # one row per path, the latest
    loaded = reload(tmp_path)
    assert entries_of(loaded, "big") == expected
    assert loaded.count("big", "new-folder") == 3
    assert loaded.entry("big/f2/00005.json") is None  # dropped in round 1
    assert loaded.entry("small/x.json") == entry(1)  # a small source: a detail, no journal
    assert not statejournal.path_of(tmp_path, "small").exists()


def test_the_detail_is_written_whole_once_the_journal_holds_a_tenth(tmp_path: Path) -> None:
    big_state(tmp_path)
    st = reload(tmp_path)
    for i in range(N // statejournal.JOURNAL_SHARE + 1):
        st.put(f"big/f{i % 3}/{i:05}.json", entry(i, 9))
    state.save(tmp_path, st)
    assert not statejournal.path_of(tmp_path, "big").exists()
    assert "journal" not in json.loads((tmp_path / ".last_sync").read_bytes())["sources"]["big"]
    assert entries_of(reload(tmp_path), "big") == entries_of(st, "big")


def test_a_source_replaced_as_a_whole_writes_its_detail(tmp_path: Path) -> None:
    big_state(tmp_path)
    change_some(tmp_path, 1)
    st = reload(tmp_path)
    st.forget_source("big")
    st.put("big/only.json", entry(3))
    state.save(tmp_path, st)
    assert not statejournal.path_of(tmp_path, "big").exists()
    assert entries_of(reload(tmp_path), "big") == {"/only.json": entry(3)}


JOURNAL_DAMAGE = ["missing", "truncated", "garbage", "folder", "fifo", "stale", "other base"]


def damage_journal(vault: Path, how: str, stale: bytes) -> None:
    path = statejournal.path_of(vault, "big")
    if how == "missing":
        path.unlink()
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[:50])
    elif how == "garbage":
        path.write_bytes(b"\x00\xff not json")
    elif how == "folder":
        path.unlink()
        path.mkdir()
    elif how == "fifo":
        path.unlink()
        os.mkfifo(path)
    elif how == "stale":
        path.write_bytes(stale)  # an older journal: valid, not the one named
    elif how == "other base":
        # The right bytes named, but of another detail: the summary is made to agree.
        doc = json.loads(path.read_bytes())
        doc["base"] = "0" * 40
        data = json.dumps(doc).encode()
        path.write_bytes(data)
        summary = json.loads((vault / ".last_sync").read_bytes())
        s = os.lstat(path)
        ref = [hashlib.sha1(data).hexdigest(), s.st_size, s.st_mtime_ns, s.st_ino]
        summary["sources"]["big"]["journal"] = ref
        (vault / ".last_sync").write_text(json.dumps(summary))
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how", JOURNAL_DAMAGE)
def test_every_kind_of_journal_damage_loads_as_that_source_lost(tmp_path: Path, how: str) -> None:
    big_state(tmp_path)
    change_some(tmp_path, 1)
    stale = statejournal.path_of(tmp_path, "big").read_bytes()
    change_some(tmp_path, 2)
    damage_journal(tmp_path, how, stale)
    st = reload(tmp_path)
    assert st.entry("small/x.json") == entry(1)  # the other source stands
    assert st.entry("big/f0/00000.json") is None and "big" in st.files.lost
    assert st.moved  # rewritten: the source is rebuilt by the next scan


def test_a_damaged_journal_costs_a_sync_time_never_data(env: Env) -> None:
    """The real thing: a source of JOURNAL_FROM+ files, a sync that journals, the
    journal damaged, an edit: the edit is found by content, nothing else is committed,
    nothing is inferred deleted, and the next sync says nothing changed."""
    folder = env.home / "big"
    folder.mkdir()
    for i in range(N):
        (folder / f"{i:05}.json").write_text(json.dumps({"id": str(i), "content": "c"}))
    # Past the racy window (state.RACY_WINDOW_NS, on mtime and ctime), so that no file
    # is re-read after the import but the edits: re-reads count as changed entries.
    time.sleep(state.RACY_WINDOW_NS / 1e9 + 0.2)
    env.vs("init")
    env.vs("track", str(folder))
    env.vs("sync", "--quiet", timeout=300)
    env.vs("sync", "--quiet")
    for i in range(5):
        (folder / f"{i:05}.json").write_text(json.dumps({"id": str(i), "content": "edited"}))
    env.vs("sync", "--quiet")
    journal = statejournal.path_of(env.vault, "big")
    summary = json.loads((env.vault / ".last_sync").read_bytes())["sources"]["big"]
    assert journal.exists(), summary
    assert len(json.loads(journal.read_bytes())["rows"]) == 5
    journal.write_bytes(b"garbage")
    (folder / "00100.json").write_text(json.dumps({"id": "100", "content": "after"}))
    before = env.commits()
    doc = json.loads(env.vs("sync", "--json", timeout=300).stdout)
    assert doc["modified"] == ["big/00100.json"]
    assert doc["added"] == [] and doc["deleted"] == []
    assert env.commits() == before + 1
    assert "nothing changed" in env.vs("sync").stdout
