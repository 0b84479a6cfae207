from __future__ import annotations

import os
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


def test_a_fifo_in_a_files_place_is_unreadable_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "m.json"
    os.mkfifo(fifo)  # no writer: a blocking open would never return
    with pytest.raises(Unreadable, match="not a regular file"):
        read_snapshot(fifo)


def test_empty_and_multi_chunk_files_read_whole(tmp_path: Path) -> None:
    empty = tmp_path / "e.json"
    empty.write_bytes(b"")
    assert read_snapshot(empty).data == b""
    big = tmp_path / "big.jsonl"
    body = b"".join(b'{"n": %d}\n' % i for i in range(400_000))  # several MB
    big.write_bytes(body)
    snap = read_snapshot(big)
    assert snap.data == body and snap.blob == blob_id(body) and snap.stat[0] == len(body)


def test_vanished_file(tmp_path: Path) -> None:
    with pytest.raises(Unreadable, match="vanished"):
        read_snapshot(tmp_path / "gone.json")


BLOCK = 65536
WRITER = """
import os, sys
path, blocks = sys.argv[1], int(sys.argv[2])
n = 0
fd = os.open(path, os.O_WRONLY)
while True:  # rewrite the file in place, one write(2) per version: n, n + 1, ...
    n += 1
    os.pwrite(fd, b"%08d" % n * 8192 * blocks, 0)
    os.write(2, b"")  # a syscall between versions: a reader may run here
"""


def _versions(data: bytes) -> list[int]:
    """The writer's version number in each 8-byte record of `data`, as runs: a read
    that overlaps a write may see a page, or part of one, already of the next version
    (the kernel copies pages without a lock readers wait on), so the unit of a version
    is the record, not the block. A page of one version is taken whole (fast path)."""
    page = 4096
    versions: list[int] = []
    for i in range(0, len(data), page):
        chunk = data[i : i + page]
        parts = [chunk] if chunk == chunk[:8] * (len(chunk) // 8) else None
        for rec in parts or [chunk[j : j + 8] for j in range(0, len(chunk), 8)]:
            assert rec[:8].isdigit(), "a record that no version wrote"
            v = int(rec[:8])
            if not versions or versions[-1] != v:
                versions.append(v)
    return versions


def _first_version(path: Path) -> int:
    """The version the file's first 8 bytes hold: the writer starts each at offset 0."""
    with open(path, "rb") as f:
        return int(f.read(8))


def _an_instant(versions: list[int]) -> bool:
    """Whether the file ever held this: whole version n, or mid-write (write(2) goes
    from offset 0 up) the first records of n + 1 and the rest of n. Records read at
    different moments can show what it never held: n then n + 1, or three versions."""
    first, last = versions[0], versions[-1]
    return first - last in (0, 1) and versions == sorted(versions, reverse=True)


def test_a_file_changing_while_read_is_never_returned_torn(tmp_path: Path) -> None:
    f = tmp_path / "busy.json"
    blocks = 128  # 8 MiB
    f.write_bytes(b"%08d" % 0 * (BLOCK // 8) * blocks)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(f), str(blocks)])
    returned: list[bytes] = []
    changing = 0
    try:
        while _first_version(f) == 0:
            pass  # until the writer is at work (a plain read may be torn: look at the start)
        for _ in range(50):
            try:
                snap = read_snapshot(f)
            except Unreadable as exc:
                assert "changing while being read" in str(exc)
                changing += 1
            else:
                assert snap.stat[0] == len(snap.data) and snap.blob == blob_id(snap.data)
                returned.append(snap.data)
    finally:
        writer.kill()
        writer.wait()
    # Every snapshot returned is what the file held at one instant (a second read that
    # must agree: the clock that stamps files moves every few milliseconds, so a stat
    # taken before and after a read can miss a write made during it).
    for data in returned:
        assert _an_instant(_versions(data)), _versions(data)
    assert len(returned) + changing == 50
    assert _first_version(f) > 1  # the writer was at work throughout (the kill may tear it)


@pytest.mark.parametrize("size", [100_000, 6 << 20])  # inline, and beside on a thread
def test_the_prefix_id_is_the_blob_id_of_the_files_start(tmp_path: Path, size: int) -> None:
    f = tmp_path / "t.jsonl"
    body = b"".join(b'{"n": %d}\n' % i for i in range(size // 10))
    f.write_bytes(body)
    cut = body.rindex(b"\n", 0, len(body) // 2) + 1
    snap = read_snapshot(f, cut)
    assert snap.blob == blob_id(body) and snap.prefix_blob == blob_id(body[:cut])
    assert read_snapshot(f, len(body)).prefix_blob is None  # not longer than the prefix
    assert read_snapshot(f).prefix_blob is None
