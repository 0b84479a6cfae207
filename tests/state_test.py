from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from tests.conftest import Env
from vaultsync import state, statefile

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
    state_file = synced.vault / ".last_sync"
    if damage == "missing":
        state_file.unlink()
    elif damage == "truncated":
        state_file.write_bytes(state_file.read_bytes()[:50])
    elif damage == "garbage":
        state_file.write_bytes(b"\x00\xff not json")
    else:
        doc = json.loads(state_file.read_text())
        doc["version"] = 99
        state_file.write_text(json.dumps(doc))
    before = synced.commits()
    assert "nothing changed" in synced.vs("sync").stdout  # no spurious commit
    assert synced.commits() == before
    assert json.loads(state_file.read_text())["version"] == state.VERSION  # rebuilt


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
    saved = state.load(synced.vault)
    assert saved is not None
    assert saved.head == synced.git("rev-parse", "HEAD").strip()
    entry = saved.entry(RECORD)
    assert entry is not None
    st = os.stat(src(synced))
    assert entry.stat == [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    assert entry.blob == synced.git("rev-parse", f"HEAD:{RECORD}").strip()
    assert ".last_sync" not in synced.head_files()


def test_folder_columns_round_trip_through_changes() -> None:
    f = state.Folder(["a.json", "b.json"], [1, 2, 3, 4, 5, 6, 7, 8], "a" * 40 + "b" * 40)
    assert f.get("b.json") == state.Entry(5, 6, 7, 8, "b" * 40)
    f.as_dict()["c.json"] = state.Entry(9, 10, 11, 12, "c" * 40)
    del f.as_dict()["a.json"]
    again = state.Folder.from_json(json.loads(json.dumps(f.to_json())))
    assert again.names == ["b.json", "c.json"]
    assert again.get("c.json") == state.Entry(9, 10, 11, 12, "c" * 40)
    assert again.get("a.json") is None
    with pytest.raises(ValueError):
        state.Folder.from_json({"names": "a\nb", "stat": [1], "blobs": ""})


def test_the_stat_column_is_packed_and_the_list_form_still_read() -> None:
    """Written as base64 int64s (JSON numbers cost 3x to write and read); detail files of
    the list form are read as before; a number out of int64 range keeps the list form."""
    f = state.Folder(["a.json", "b.json"], [1, -2, 3, 2**63 - 1, 5, 6, 7, 8], "a" * 80)
    doc = f.to_json()
    assert isinstance(doc["stat"], str)
    assert state.Folder.from_json(doc).stat == f.stat
    assert state.Folder.from_json({**doc, "stat": f.stat}).stat == f.stat
    big = state.Folder(["a.json"], [1, 2, 3, 2**64 - 1], "a" * 40)
    assert big.to_json()["stat"] == [1, 2, 3, 2**64 - 1]
    for bad in ("!!!", "AAAA", doc["stat"][:-4]):  # not base64; 3 bytes; 5 numbers
        with pytest.raises(ValueError):
            state.Folder.from_json({**doc, "stat": bad})


def test_a_vault_commit_touching_no_tracked_file_is_absorbed_once(synced: Env) -> None:
    (synced.vault / "NOTES.md").write_text("my notes about this vault\n")
    synced.git("add", "NOTES.md")
    synced.git("commit", "-qm", "notes")
    assert "nothing changed" in synced.vs("sync").stdout
    saved = state.load(synced.vault)
    # Recorded, so later syncs do not work out again what that commit changed.
    assert saved is not None and saved.head == synced.git("rev-parse", "HEAD").strip()


def test_a_state_entry_for_a_path_not_in_head_makes_no_empty_commit(synced: Env) -> None:
    saved = state.load(synced.vault)
    assert saved is not None
    ghost = saved.entry(RECORD)
    assert ghost is not None
    saved.put("mem/ghost.json", ghost)  # listed by the state, in no commit, not on disk
    state.save(synced.vault, saved)
    before = synced.commits()
    assert "nothing changed" in synced.vs("sync").stdout
    assert synced.commits() == before
    assert not synced.git("log", "-1", "--format=%s").strip().endswith("-1")


def _deep(n: int) -> str:
    return "[" * n + "]" * n


@pytest.mark.parametrize("damage", ["1e999", "deep", "folder", "fifo", "wrong-types"])
def test_a_damaged_state_is_rebuilt_never_a_crash_or_a_hang(synced: Env, damage: str) -> None:
    state_file = synced.vault / ".last_sync"
    state_file.unlink()
    if damage == "1e999":
        state_file.write_text('{"version": 2, "head": null, "scanned_ns": 1e999, "files": {}}')
    elif damage == "deep":
        state_file.write_text('{"version": 2, "files": ' + _deep(100_000) + "}")
    elif damage == "folder":
        state_file.mkdir()
        (state_file / "x").write_text("x")
    elif damage == "fifo":
        os.mkfifo(state_file)
    else:
        state_file.write_text('{"version": 2, "head": 5, "scanned_ns": "x", "files": []}')
    before = synced.commits()
    assert "nothing changed" in synced.vs("sync", timeout=60).stdout
    assert synced.commits() == before
    assert state_file.is_file() and state.load(synced.vault) is not None  # rebuilt
    assert "nothing changed" in synced.vs("sync", timeout=60).stdout


DAMAGE = {
    "empty": b"",
    "not an object": b"[1, 2]",
    "1e999 as the scan time": b'{"version": 2, "head": null, "scanned_ns": 1e999, "files": {}}',
    "a bool as the scan time": b'{"version": 2, "head": null, "scanned_ns": true, "files": {}}',
    "a number as head": b'{"version": 2, "head": 7, "scanned_ns": 1, "files": {}}',
    "nested too deep": b'{"version": 2, "files": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    "columns of another length": (
        b'{"version": 2, "head": null, "scanned_ns": 1, '
        b'"files": {"s": {"": {"names": "a\\nb", "stat": [1, 2, 3, 4], "blobs": ""}}}}'
    ),
    "a float in the stat column": (
        b'{"version": 2, "head": null, "scanned_ns": 1, "files": {"s": {"": '
        b'{"names": "a", "stat": [1.5, 2, 3, 4], "blobs": "' + b"0" * 40 + b'"}}}}'
    ),
    "a rejection of the wrong shape": (
        b'{"version": 2, "head": null, "scanned_ns": 1, "files": {}, '
        b'"rejected": {"s/a": {"reason": 3, "blob": null}}}'
    ),
    "line schemas of the wrong shape": (
        b'{"version": 2, "head": null, "scanned_ns": 1, "files": {}, '
        b'"line_schemas": {"s/a.jsonl": [1, 2]}}'
    ),
    "not UTF-8": b"\xff\xfe{}",
    "a folder stat of the wrong shape": (
        b'{"version": 2, "head": null, "scanned_ns": 1, "files": {}, "dirs": {"s": {"": [1]}}}'
    ),
    "an index checksum that is not a string": (
        b'{"version": 2, "head": null, "scanned_ns": 1, "files": {}, "indexes": {"s": 1}}'
    ),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_every_kind_of_damage_loads_as_no_state(tmp_path: Path, damage: str) -> None:
    (tmp_path / ".last_sync").write_bytes(DAMAGE[damage])
    assert state.load(tmp_path) is None


@pytest.mark.parametrize("kind", ["folder", "fifo", "symlink"])
def test_a_state_path_taken_by_something_else_loads_as_none_and_saves(
    tmp_path: Path, kind: str
) -> None:
    path = tmp_path / ".last_sync"
    if kind == "folder":
        path.mkdir()
        (path / "keep").write_text("someone's file")
    elif kind == "fifo":
        os.mkfifo(path)  # a blocking open would hang here forever
    else:
        (tmp_path / "elsewhere").write_text("{}")
        path.symlink_to(tmp_path / "elsewhere")
    assert state.load(tmp_path) is None
    st = state.State(head=None, scanned_ns=5)
    st.put("s/a.json", state.Entry(1, 2, 3, 4, "a" * 40))
    state.save(tmp_path, st)
    again = state.load(tmp_path)
    assert again is not None and again.entry("s/a.json") == state.Entry(1, 2, 3, 4, "a" * 40)
    if kind == "folder":  # moved aside, not deleted
        aside = list((tmp_path / ".vaultsync").glob("damaged-last_sync-*"))
        assert [p.joinpath("keep").read_text() for p in aside] == ["someone's file"]
    if kind == "symlink":
        assert (tmp_path / "elsewhere").read_text() == "{}"  # the link's target untouched


def test_names_with_newlines_round_trip(tmp_path: Path) -> None:
    st = state.State(head=None, scanned_ns=5)
    st.put("s/two\nlines.json", state.Entry(1, 2, 3, 4, "a" * 40))
    st.put("s/plain.json", state.Entry(5, 6, 7, 8, "b" * 40))
    state.save(tmp_path, st)
    again = state.load(tmp_path)
    assert again is not None
    assert again.entry("s/two\nlines.json") == state.Entry(1, 2, 3, 4, "a" * 40)
    assert again.entry("s/plain.json") == state.Entry(5, 6, 7, 8, "b" * 40)


# -- the detail files: per source, under .vaultsync/state/, named by .last_sync ----------


def detail_of(vault: Path, source: str = "mem") -> Path:
    return statefile.detail_path(vault, source)


def _rename_version(path: Path, vault: Path) -> None:
    """Another version, with `.last_sync` naming exactly those bytes: only the version
    field can tell."""
    doc = json.loads(path.read_bytes())
    doc["version"] = 99
    data = json.dumps(doc).encode()
    path.write_bytes(data)
    summary = json.loads((vault / ".last_sync").read_bytes())
    s = os.lstat(path)
    summary["sources"]["mem"]["detail"] = [
        hashlib.sha1(data).hexdigest(),
        s.st_size,
        s.st_mtime_ns,
        s.st_ino,
    ]
    (vault / ".last_sync").write_text(json.dumps(summary))


def damage_detail(vault: Path, how: str, stale: bytes = b"") -> None:
    path = detail_of(vault)
    if how == "missing":
        path.unlink()
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    elif how == "garbage":
        path.write_bytes(b"\x00\xff not json at all")
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "folder":
        path.unlink()
        path.mkdir()
        (path / "keep").write_text("someone's file")
    elif how == "fifo":
        path.unlink()
        os.mkfifo(path)  # a blocking open would hang
    elif how == "another version":
        _rename_version(path, vault)
    elif how == "stale":
        path.write_bytes(stale)  # an older detail: valid, but not the one named
    else:
        raise AssertionError(how)


DETAIL_DAMAGE = [
    "missing",
    "truncated",
    "garbage",
    "empty",
    "folder",
    "fifo",
    "another version",
    "stale",
]


@pytest.mark.parametrize("how", DETAIL_DAMAGE)
def test_a_damaged_detail_file_costs_time_never_data(synced: Env, how: str) -> None:
    stale = detail_of(synced.vault).read_bytes()  # before the sync below rewrites it
    other = src(synced, RECORD.replace("31162427", "00000000"))
    other.write_text('{"id": "o", "content": "another"}')
    synced.vs("sync")
    # Then: an edit, a file gone from disk, and the detail damaged.
    src(synced).write_text('{"id": "x", "content": "changed with the detail lost"}')
    (synced.home / "mem" / "mem0" / "memories.json").unlink()
    damage_detail(synced.vault, how, stale)
    before = synced.commits()
    doc = json.loads(synced.vs("sync", "--json", timeout=60).stdout)
    assert doc["modified"] == [RECORD]  # found, by content
    assert doc["deleted"] == [] and doc["added"] == []  # nothing inferred, nothing spurious
    assert synced.commits() == before + 1
    assert "mem/mem0/memories.json" in synced.head_files()
    saved = state.load(synced.vault)  # whole again: the detail rewritten and named
    assert saved is not None
    entry = saved.entry(RECORD)
    assert entry is not None and entry.blob == synced.git("rev-parse", f"HEAD:{RECORD}").strip()
    assert "nothing changed" in synced.vs("sync", timeout=60).stdout
    if how == "folder":  # moved aside, not deleted
        aside = list((synced.vault / ".vaultsync").glob("damaged-mem.json-*"))
        assert [p.joinpath("keep").read_text() for p in aside] == ["someone's file"]


def _saved_state(vault: Path) -> state.State:
    st = state.State(head=None, scanned_ns=5)
    st.put("mem/a/one.json", state.Entry(1, 2, 3, 4, "a" * 40))
    st.put("mem/two.json", state.Entry(5, 6, 7, 8, "b" * 40))
    st.put("other/x.json", state.Entry(9, 10, 11, 12, "c" * 40))
    st.dirs["mem"] = {"": [1, 2, 3]}
    st.indexes["mem"] = "f" * 40
    state.save(vault, st)
    return st


@pytest.mark.parametrize("how", DETAIL_DAMAGE)
def test_every_kind_of_detail_damage_loads_as_that_source_lost(tmp_path: Path, how: str) -> None:
    _saved_state(tmp_path)
    stale = detail_of(tmp_path).read_bytes()
    st = state.load(tmp_path)
    assert st is not None
    st.put("mem/three.json", state.Entry(1, 1, 1, 1, "d" * 40))
    state.save(tmp_path, st)
    damage_detail(tmp_path, how, stale)
    again = state.load(tmp_path)
    assert again is not None  # the summary stands
    assert again.entry("other/x.json") == state.Entry(9, 10, 11, 12, "c" * 40)
    assert again.entry("mem/two.json") is None and again.entry("mem/three.json") is None
    assert "mem" in again.files.lost
    # What depended on the lost entries is not trusted, and the state is rewritten.
    assert "mem" not in again.dirs and "mem" not in again.indexes and again.moved
    again.put("mem/two.json", state.Entry(5, 6, 7, 8, "b" * 40))
    state.save(tmp_path, again)
    whole = state.load(tmp_path)
    assert whole is not None and whole.entry("mem/two.json") == state.Entry(5, 6, 7, 8, "b" * 40)
    assert not whole.files.lost


def test_a_detail_file_is_read_only_when_its_entries_are_needed(tmp_path: Path) -> None:
    _saved_state(tmp_path)
    st = state.load(tmp_path)
    assert st is not None
    assert not st.files.is_loaded("mem") and not st.files.is_loaded("other")
    assert st.folder_names("mem") == {"", "a"} and st.count("mem", "a") == 1  # the summary
    assert "mem" in st.files and not st.files.is_loaded("mem")
    assert st.entry("other/x.json") is not None
    assert st.files.is_loaded("other") and not st.files.is_loaded("mem")
    state.save(tmp_path, st)  # a source not read keeps its detail file as it was
    again = state.load(tmp_path)
    assert again is not None and again.entry("mem/a/one.json") == state.Entry(1, 2, 3, 4, "a" * 40)


def test_a_summary_with_a_detail_reference_of_the_wrong_shape_is_no_state(tmp_path: Path) -> None:
    _saved_state(tmp_path)
    summary = json.loads((tmp_path / ".last_sync").read_bytes())
    for bad in ([1, 2, 3, 4], ["x", 1, 2], "x", None, ["x", 1.5, 2, 3]):
        summary["sources"]["mem"]["detail"] = bad
        (tmp_path / ".last_sync").write_text(json.dumps(summary))
        assert state.load(tmp_path) is None, bad


def test_a_version_2_state_is_read_and_saved_as_version_3(tmp_path: Path) -> None:
    old = {
        "version": 2,
        "head": None,
        "scanned_ns": 7,
        "config_blob": None,
        "dirs": {"mem": {"": [1, 2, 3]}},
        "indexes": {"mem": "e" * 40},
        "files": {
            "mem": {"": {"names": "a.json\nb.json", "stat": list(range(8)), "blobs": "a" * 80}}
        },
    }
    (tmp_path / ".last_sync").write_text(json.dumps(old))
    st = state.load(tmp_path)
    assert st is not None and st.moved  # to be rewritten in the new form
    assert st.entry("mem/b.json") == state.Entry(4, 5, 6, 7, "a" * 40)
    assert st.dirs == {"mem": {"": [1, 2, 3]}}
    state.save(tmp_path, st)
    assert json.loads((tmp_path / ".last_sync").read_bytes())["version"] == state.VERSION
    assert detail_of(tmp_path).is_file()
    again = state.load(tmp_path)
    assert again is not None and again.entry("mem/a.json") == state.Entry(0, 1, 2, 3, "a" * 40)


def test_a_no_change_sync_does_not_read_the_detail(synced: Env) -> None:
    """The detail is replaced by garbage of the same size, its stat put back: a sync
    with nothing changed must not read it (else it would be found damaged and the state
    rewritten)."""
    time.sleep(state.RACY_WINDOW_NS / 1e9 + 0.1)
    synced.vs("sync")  # the folders are no longer racy: the state moves its cutoff
    path = detail_of(synced.vault)
    s = os.stat(path)
    with open(path, "r+b") as f:
        f.write(b"\x00" * s.st_size)
    os.utime(path, ns=(s.st_atime_ns, s.st_mtime_ns))
    summary = (synced.vault / ".last_sync").read_bytes()
    assert "nothing changed" in synced.vs("sync").stdout
    assert (synced.vault / ".last_sync").read_bytes() == summary
    assert path.read_bytes() == b"\x00" * s.st_size
    # A change in that source reads it, finds it damaged, and costs a walk, not data.
    src(synced).write_text('{"id": "x", "content": "changed"}')
    doc = json.loads(synced.vs("sync", "--json").stdout)
    assert doc["modified"] == [RECORD] and doc["deleted"] == [] and doc["added"] == []
    assert "nothing changed" in synced.vs("sync").stdout
