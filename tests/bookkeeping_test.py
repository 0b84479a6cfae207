"""A first import's per-file bookkeeping, made flat: what it writes is what it wrote."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.conftest import Env
from vaultsync import gitindex, plan, state, statefile
from vaultsync.reader import blob_id

# A root folder, nested and non-ASCII folders, a name with a newline (stored as a list),
# a name that is not UTF-8 (held as surrogates).
NAMES = ["top.json", "a/one.json", "a/two.json", "é/b/ü.json", "n/x\ny.json", "raw/\udcff.json"]


def _state() -> state.State:
    st = state.State(head=None, scanned_ns=1)
    for i, rel in enumerate(NAMES):
        blob = blob_id(rel.encode("utf-8", "surrogateescape"))
        st.put(f"s/{rel}", state.Entry(10 + i, 2**62 + i, 2**61 + i, 1000 + i, blob))
    return st


def test_the_detail_file_is_the_json_of_its_folders_streamed(tmp_path: Path) -> None:
    st = _state()
    statefile.save(tmp_path, st)
    data = statefile.detail_path(tmp_path, "s").read_bytes()
    folders = st.files["s"]
    doc = {
        "version": state.VERSION,
        "source": "s",
        "folders": {folder: f.to_json() for folder, f in sorted(folders.items())},
    }
    assert data == json.dumps(doc, separators=(",", ":")).encode()  # as it was made whole
    assert st.details["s"].sha1 == hashlib.sha1(data).hexdigest()
    loaded = state.load(tmp_path)
    assert loaded is not None
    for rel in NAMES:
        assert loaded.entry(f"s/{rel}") == st.entry(f"s/{rel}")


def test_a_rebuilt_index_holds_every_entry_of_the_state(tmp_path: Path) -> None:
    vault, src = tmp_path / "vault", tmp_path / "src"
    subprocess.run(["git", "init", "-q", str(vault)], check=True)
    src.mkdir()
    st = _state()
    st.roots["s"] = str(src)
    lines, size = gitindex._every_entry(st, "s")
    old = b"".join(  # the lines as they were made, one vault path at a time
        b"100644 " + e.blob.encode() + b"\t" + rel.encode("utf-8", "surrogateescape") + b"\0"
        for folder, f in st.files["s"].items()
        for name in f.columns().names
        if (rel := f"{folder}/{name}" if folder else name)
        and (e := st.entry(f"s/{rel}")) is not None
    )
    assert lines == old
    assert size == sum(10 + i for i in range(len(NAMES)))
    gitindex.update(vault, st)
    out = subprocess.run(
        ["git", "--git-dir", str(vault / ".git"), "ls-files", "-s", "-z"],
        env={**os.environ, "GIT_INDEX_FILE": str(gitindex.index_path(vault, "s"))},
        check=True,
        capture_output=True,
    ).stdout
    listed = {}
    for row in out.split(b"\0"):
        if row:
            meta, _, path = row.partition(b"\t")
            listed[path.decode("utf-8", "surrogateescape")] = meta.split()[1].decode()
    assert listed == {rel: e.blob for rel in NAMES if (e := st.entry(f"s/{rel}")) is not None}


def test_candidates_are_handed_out_in_order_and_let_go() -> None:
    items: list[Any] = ["a", "b", "c"]
    drained: Iterator[Any] = plan._drain(items)
    assert next(drained) == "a" and items == ["c", "b"]
    assert list(drained) == ["b", "c"] and items == []


def test_one_commit_adds_and_deletes_what_a_sync_found(synced: Env) -> None:
    """The commit's file lines are written as each file is read, the deletions at the
    end: one commit still holds both, and every file's bytes."""
    src = synced.home / "mem"
    files = sorted(p for p in src.rglob("*") if p.is_file())
    gone = files[0]
    gone.unlink()
    for i in range(30):
        (src / "many" / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        (src / "many" / f"d{i % 3}" / f"m{i}.json").write_text(
            json.dumps({"id": f"m{i}", "content": f"memory {i}"})
        )
    doc = json.loads(synced.vs("sync", "--json").stdout)
    assert len(doc["added"]) == 30 and doc["deleted"] == [f"mem/{gone.relative_to(src)}"]
    status = synced.git("show", "--name-status", "--format=", "HEAD").splitlines()
    assert f"D\tmem/{gone.relative_to(src)}" in status
    assert sum(1 for row in status if row.startswith("A\tmem/many/")) == 30
    head = synced.head_files()
    assert head["mem/many/d1/m7.json"] == (src / "many" / "d1" / "m7.json").read_text()
    assert json.loads(synced.vs("sync", "--json").stdout)["commit"] is None  # state saved


def test_put_all_makes_the_columns_put_would() -> None:
    one_by_one, at_once = _state(), state.State(head=None, scanned_ns=1)
    at_once.put("s/a/one.json", state.Entry(1, 1, 1, 1, "0" * 40))  # a folder it has
    rows = [
        (f"s/{rel}", [10 + i, 2**62 + i, 2**61 + i, 1000 + i], e.blob)
        for i, rel in reversed(list(enumerate(NAMES)))  # not in order: sorted like columns()
        if (e := one_by_one.entry(f"s/{rel}")) is not None
    ]
    at_once.put_all(rows)
    assert at_once.touched == {f"s/{rel}" for rel in NAMES}
    for folder, f in one_by_one.files["s"].items():
        made = at_once.files["s"][folder].columns()
        f.columns()
        assert (made.names, made.stat, made.blobs) == (f.names, f.stat, f.blobs)
