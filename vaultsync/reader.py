"""Reading a changed file exactly once, safely: torn reads, vanished files, no permission."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vaultsync.state import RACY_WINDOW_NS, stat_key

MAX_ATTEMPTS = 3
COMPARE_CHUNK = 1 << 24  # bytes read at a time to compare a racy file's second read


class Unreadable(Exception):
    """The file could not be read as one consistent version; the reason names why."""


@dataclass(frozen=True)
class Snapshot:
    data: bytes
    stat: list[int]
    blob: str


def blob_id(data: bytes) -> str:
    """The git blob id of `data`, as `git hash-object` computes it."""
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def read_snapshot(path: str | Path) -> Snapshot:
    """Read `path` whole; if it changes while being read, read it once more.

    A write within one tick of the file system's clock leaves the stat as it was
    (Linux stamps files from a clock that moves every few milliseconds, FAT every 2 s),
    so a file rewritten in place while it was read can look unchanged: a file modified
    that recently is read twice and kept only when both reads agree."""
    for _ in range(MAX_ATTEMPTS):
        data, before, after = _read_once(path)
        if before != after or len(data) != after[0]:
            continue
        if time.time_ns() - max(after[1], after[2]) < RACY_WINDOW_NS:
            same, last = _same_again(path, data)
            if not same or last != after:
                continue
        return Snapshot(data, after, blob_id(data))
    raise Unreadable("changing while being read; it will be picked up by the next sync")


def _same_again(path: str | Path, data: bytes) -> tuple[bool, list[int]]:
    """Whether `path` holds `data` on a second read, compared a chunk at a time (a
    just-written 545 MB export is not held twice), and the open file's stat after it."""
    view, at, same = memoryview(data), 0, True
    with _words():
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            while same and (chunk := os.read(fd, COMPARE_CHUNK)):
                same = view[at : at + len(chunk)] == chunk
                at += len(chunk)
            after = os.fstat(fd)
        finally:
            os.close(fd)
    return same and at == len(data), stat_key(after)


@contextlib.contextmanager
def _words() -> Iterator[None]:
    """An OSError of a read said as Unreadable, in words."""
    try:
        yield
    except FileNotFoundError:
        raise Unreadable("vanished while being read") from None
    except PermissionError:
        raise Unreadable("permission denied (check the file's owner and mode)") from None
    except IsADirectoryError:
        raise Unreadable("became a directory") from None
    except OSError as exc:
        raise Unreadable(f"cannot read: {exc.strerror}") from None


def _read_once(path: str | Path) -> tuple[bytes, list[int], list[int]]:
    """The bytes, and the stat of the open file before and after reading them. Plain
    os calls (no file object: 100,000 reads of an import); O_NONBLOCK so that a FIFO
    put in a file's place since the scan cannot hang the sync."""
    with _words():
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
    return data, stat_key(before), stat_key(after)
