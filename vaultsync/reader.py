"""Reading a changed file exactly once, safely: torn reads, vanished files, no permission."""

from __future__ import annotations

import hashlib
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from vaultsync.state import RACY_WINDOW_NS, stat_key

MAX_ATTEMPTS = 3
AGAIN_CHUNK = 1 << 20


class Unreadable(Exception):
    """The file could not be read as one consistent version; the reason names why."""


@dataclass(frozen=True)
class Snapshot:
    data: bytes
    stat: list[int]
    blob: str
    # The blob id of data[:prefix], when read_snapshot was asked for it (an append's
    # proof that the committed version is where the file starts).
    prefix_blob: str | None = None


PARALLEL_HASH_BYTES = 4 << 20  # smaller: two ids in a row cost less than a thread


def blob_id(data: bytes | memoryview) -> str:
    """The git blob id of `data`, as `git hash-object` computes it."""
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def read_snapshot(path: str | Path, prefix: int = 0) -> Snapshot:
    """Read `path` whole; if it changes while being read, read it once more. `prefix`:
    also the blob id of the file's first `prefix` bytes, if it is longer (for a big
    file, hashed beside the whole file's id, on the other core: hashlib lets go of the
    GIL, and an append to a 30 MB transcript otherwise hashes 60 MB in a row).

    A write within one tick of the file system's clock leaves the stat as it was
    (Linux stamps files from a clock that moves every few milliseconds, FAT every 2 s),
    so a file rewritten in place while it was read can look unchanged: a file modified
    that recently is read twice and kept only when both reads agree."""
    for _ in range(MAX_ATTEMPTS):
        data, before, after = _read_once(path)
        if before != after or len(data) != after[0]:
            continue
        if time.time_ns() - max(after[1], after[2]) < RACY_WINDOW_NS:
            if not _reads_again(path, data, after):
                continue
        if not 0 < prefix < len(data):
            return Snapshot(data, after, blob_id(data))
        return Snapshot(data, after, *_two_ids(data, prefix))
    raise Unreadable("changing while being read; it will be picked up by the next sync")


def _two_ids(data: bytes, prefix: int) -> tuple[str, str]:
    """The blob ids of `data` and of `data[:prefix]`, side by side when it pays."""
    head = memoryview(data)[:prefix]
    if len(data) < PARALLEL_HASH_BYTES:
        return blob_id(data), blob_id(head)
    import threading

    ids: list[str] = []
    thread = threading.Thread(target=lambda: ids.append(blob_id(head)))
    thread.start()
    whole = blob_id(data)
    thread.join()
    return whole, ids[0]


def _read_once(path: str | Path) -> tuple[bytes, list[int], list[int]]:
    """The bytes, and the stat of the open file before and after reading them. Plain
    os calls (no file object: 100,000 reads of an import); O_NONBLOCK so that a FIFO
    put in a file's place since the scan cannot hang the sync."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            before = os.fstat(fd)
            if not stat.S_ISREG(before.st_mode):
                raise Unreadable("not a regular file any more")
            parts = [os.read(fd, before.st_size + 1)]  # one byte more: did it grow?
            if len(parts[0]) != before.st_size:  # grew, shrank, or read short (> 2 GiB)
                while chunk := os.read(fd, 1 << 24):
                    parts.append(chunk)
            data = parts[0] if len(parts) == 1 else b"".join(parts)
            after = os.fstat(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise _unreadable(exc) from None
    return data, stat_key(before), stat_key(after)


def _reads_again(path: str | Path, data: bytes, key: list[int]) -> bool:
    """Whether the file holds exactly `data` again, under the same stat: read a second
    time in pieces into one buffer, each compared as it comes. A second whole read cost
    ~20 ms for 30 MB (a new 30 MB buffer) and held two copies of the file at once."""
    try:
        with open(path, "rb", buffering=0, opener=_no_wait) as f:
            buf = bytearray(min(max(len(data), 1), AGAIN_CHUNK))
            view, at = memoryview(buf), 0
            while n := f.readinto(buf):
                if at + n > len(data) or not data.startswith(view[:n], at):
                    return False
                at += n
            return at == len(data) and stat_key(os.fstat(f.fileno())) == key
    except OSError as exc:
        raise _unreadable(exc) from None


def _no_wait(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NONBLOCK)  # a FIFO in the file's place: no hang


def _unreadable(exc: OSError) -> Unreadable:
    if isinstance(exc, FileNotFoundError):
        return Unreadable("vanished while being read")
    if isinstance(exc, PermissionError):
        return Unreadable("permission denied (check the file's owner and mode)")
    if isinstance(exc, IsADirectoryError):
        return Unreadable("became a directory")
    return Unreadable(f"cannot read: {exc.strerror}")
