from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vaultsync.reader import Unreadable, blob_id, read_snapshot


def test_blob_id_matches_git(tmp_path: Path) -> None:
    f = tmp_path / "m.json"
    f.write_bytes(b'{"id": 1}\n')
    out = subprocess.run(["git", "hash-object", str(f)], capture_output=True, text=True)
    assert blob_id(f.read_bytes()) == out.stdout.strip()


def test_snapshot_holds_data_stat_and_blob(tmp_path: Path) -> None:
    f = tmp_path / "m.json"
    f.write_bytes(b"{}")
    snap = read_snapshot(f)
    assert snap.data == b"{}" and snap.stat[0] == 2 and snap.blob == blob_id(b"{}")


def test_vanished_file(tmp_path: Path) -> None:
    with pytest.raises(Unreadable, match="vanished"):
        read_snapshot(tmp_path / "gone.json")


WRITER = """
import os, sys
path = sys.argv[1]
while True:
    with open(path, "ab") as f:
        f.write(b"x" * 65536)
    if os.path.getsize(path) > 1 << 30:
        os.truncate(path, 0)
"""


def test_a_file_changing_while_read_is_never_returned_torn(tmp_path: Path) -> None:
    f = tmp_path / "busy.json"
    f.write_bytes(b"x" * (8 << 20))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(f)])
    outcomes = set()
    try:
        for _ in range(20):
            try:
                snap = read_snapshot(f)
            except Unreadable as exc:
                assert "changing while being read" in str(exc)
                outcomes.add("changing")
            else:
                # Whatever came back is one consistent version: its stat size is its length.
                assert snap.stat[0] == len(snap.data) and snap.blob == blob_id(snap.data)
                outcomes.add("consistent")
    finally:
        writer.kill()
        writer.wait()
    assert outcomes  # every read ended in one of the two honest outcomes
