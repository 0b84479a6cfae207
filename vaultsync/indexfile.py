"""Recording, in a per-source git index, the stat of files this sync has just read and
hashed, so that git does not hash them again only to learn their stat.

`update-index --refresh` would read a 30 MB transcript once more (with SHA-1DC, ~0.1 s)
to record a stat we already have: the read's own snapshot (reader.read_snapshot: the
stat before and after the read agree), taken with the bytes whose blob id the entry
holds. Here the index git has just written is patched in place of that refresh
(record_stats), or, for paths already in a small index, written without git at all
(set_blobs: the new blob, and that stat or none, as `update-index --index-info` would):

- only index versions 2 and 3, whose trailing SHA-1 checks, with every entry walked
  (names, flags, padding) and every extension optional (first letter A-Z); version 4,
  a split index (`link`), a sparse index (`sdir`) or anything else unexpected declines,
  and the caller refreshes as before;
- only a stage-0 entry of mode 100644, no extended flags, holding exactly the blob the
  state names, whose file still has the snapshot's stat (size, mtime, ctime, inode; the
  owner and device, which the snapshot lacks, come from that same check);
- the optional extensions are dropped (cache tree, untracked cache, fsmonitor, offset
  tables: git rebuilds what it wants), the SHA-1 trailer recomputed, and the file
  written as git writes it: `<index>.lock` created exclusively, fsynced, renamed.

git's racy rule still holds: an entry whose mtime is not older than the index file's is
compared by content the next time git reads it. git here compares whole seconds, so the
stat is checked again, to the nanosecond, right before the index is written: a rewrite
after that check lands in the index file's second (racy: compared by content) or in a
later one (the stat differs). A file system that stamps whole seconds cannot show a
same-second rewrite that way: a recent file there takes no stat (git's refresh does)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat as st_mode
import time
from dataclasses import dataclass
from pathlib import Path

from vaultsync.fsutil import write_all
from vaultsync.state import RACY_WINDOW_NS

ENTRY_FIXED = 62  # stat data (40), object id (20), flags (2)
VALID = 0x8000  # assume-unchanged
EXTENDED = 0x4000
STAGE = 0x3000
NAME_MASK = 0x0FFF
MODE_FILE = 0o100644
# Past this, git's update-index is the cheaper (5,000 entries: 9.6 ms here against git's
# 4.4 ms; 500: 1.5 ms against 5.7 ms).
MAX_ENTRIES_SET = 1000


class Declined(Exception):
    """The index is not one this module may patch; the caller falls back to git."""


@dataclass(frozen=True)
class Wanted:
    """What one entry must hold to take a stat: its blob, and the stat key the bytes
    hashed to that blob were read under (state.Entry.stat)."""

    blob: str
    key: list[int]


def record_stats(index: Path, root: Path, wanted: dict[bytes, Wanted]) -> set[bytes]:
    """Patch the entries named in `wanted` (names relative to `root`, as in the index),
    which must already hold their blobs; returns the names that took a stat (maybe none:
    then nothing is written). Raises Declined for an index it cannot patch safely,
    OSError when it cannot be written."""
    return _patch(index, root, {}, wanted)


def set_blobs(
    index: Path, root: Path, blobs: dict[bytes, str], wanted: dict[bytes, Wanted]
) -> set[bytes]:
    """What `update-index --index-info` does for paths already in a small index, without
    starting git: each entry of `blobs` takes its new blob and no stat (compared by
    content), or, when in `wanted`, the stat of the read. Declined when a path is not a
    plain entry of the index yet (a new file), or the index is big (a pass in Python
    costs ~1 µs an entry; git's C is then cheaper than its process)."""
    if not blobs:
        raise Declined("nothing to set")
    return _patch(index, root, blobs, wanted, limit=MAX_ENTRIES_SET)


def _patch(
    index: Path,
    root: Path,
    blobs: dict[bytes, str],
    wanted: dict[bytes, Wanted],
    limit: int | None = None,
) -> set[bytes]:
    data, index_s = _read(index)
    entries, entries_end = _entries(data)
    if limit is not None and len(entries) > limit:
        raise Declined("a big index")
    out = bytearray(data[:entries_end])  # the optional extensions are dropped
    stated: set[bytes] = set()
    for at, name, flags, mode, oid in entries:
        blob = blobs.get(name)
        w = wanted.get(name)
        if blob is None and w is None:
            # git's rule when it writes an index: an entry not older than the index it
            # read may have changed unseen since its stat was taken; its size goes to 0
            # (compared by content). git checks the content first; this smudges them all.
            if int.from_bytes(out[at + 8 : at + 12], "big") >= index_s:
                out[at + 36 : at + 40] = bytes(4)
            continue
        if flags & (VALID | EXTENDED | STAGE) or mode != MODE_FILE:
            if blob is not None:
                raise Declined("an entry only git may rewrite")
            continue
        if blob is not None:
            out[at + 40 : at + 60] = bytes.fromhex(blob)
            _zero_stat(out, at)
        held = blob if blob is not None else oid.hex()
        if w is not None and w.blob == held:  # the stat of exactly these bytes
            now = _still(root, name, w.key)
            if now is not None:
                _put_stat(out, at, now)
                stated.add(name)
    if blobs.keys() - {e[1] for e in entries}:
        raise Declined("a path not in the index yet")
    if not blobs and not stated:
        return set()  # nothing recorded: git's file stands as it is
    out += hashlib.sha1(out).digest()
    _write(index, bytes(out))
    return stated


def _zero_stat(out: bytearray, at: int) -> None:
    """No stat, as git writes an entry it has not looked at: all but the mode."""
    out[at : at + 24] = bytes(24)
    out[at + 28 : at + 40] = bytes(12)


def _read(index: Path) -> tuple[bytes, int]:
    """The index's bytes, checked, and its mtime in seconds (git's racy rule)."""
    fd = os.open(index, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # a FIFO: no hang
    try:
        st = os.fstat(fd)
        if not st_mode.S_ISREG(st.st_mode):
            raise Declined("not a regular file")
        with open(fd, "rb", closefd=False) as f:
            data = f.read()
    finally:
        os.close(fd)
    if len(data) < 12 + 20 or data[:4] != b"DIRC":
        raise Declined("not an index")
    if int.from_bytes(data[4:8], "big") not in (2, 3):
        raise Declined("index version not 2 or 3")
    if hashlib.sha1(memoryview(data)[:-20]).digest() != data[-20:]:
        raise Declined("checksum mismatch")
    return data, st.st_mtime_ns // 10**9


Row = tuple[int, bytes, int, int, bytes]  # offset, name, flags, mode, object id


def _entries(data: bytes) -> tuple[list[Row], int]:
    """Every entry, each checked for shape, and where they end; the extensions after
    them are checked to be all optional and to end at the trailer."""
    version = int.from_bytes(data[4:8], "big")
    count = int.from_bytes(data[8:12], "big")
    end = len(data) - 20
    at, last = 12, b""
    out: list[Row] = []
    for _ in range(count):
        if at + ENTRY_FIXED > end:
            raise Declined("entries run past the end")
        flags = int.from_bytes(data[at + 60 : at + 62], "big")
        head = ENTRY_FIXED
        if flags & EXTENDED:
            if version < 3:
                raise Declined("extended flags in a version 2 index")
            head += 2
        start = at + head
        stop = data.find(b"\0", start, end)
        if stop < 0:
            raise Declined("a name without its end")
        name = data[start:stop]
        n = flags & NAME_MASK
        if (n < NAME_MASK and n != len(name)) or (n == NAME_MASK and len(name) < NAME_MASK):
            raise Declined("a name of the wrong length")
        size = (head + len(name) + 8) & ~7
        if at + size > end or data[stop : at + size].strip(b"\0"):
            raise Declined("bad padding")
        if name < last:
            raise Declined("entries out of order")
        last = name
        mode = int.from_bytes(data[at + 24 : at + 28], "big")
        out.append((at, name, flags, mode, data[at + 40 : at + 60]))
        at += size
    ext = at
    while ext < end:
        if ext + 8 > end or not 0x41 <= data[ext] <= 0x5A:
            raise Declined("an extension git requires")  # `link`, `sdir`, or garbage
        ext += 8 + int.from_bytes(data[ext + 4 : ext + 8], "big")
    if ext != end:
        raise Declined("extensions do not end at the trailer")
    names = [e[1] for e in out]
    if len(set(names)) != len(names):
        raise Declined("a path at more than one stage")
    return out, at


def _still(root: Path, name: bytes, key: list[int]) -> os.stat_result | None:
    """The file's stat now, if it is the snapshot's (else its bytes may be others)."""
    try:
        now = os.lstat(os.path.join(os.fsencode(root), name))
    except OSError:
        return None
    if not st_mode.S_ISREG(now.st_mode):
        return None
    if [now.st_size, now.st_mtime_ns, now.st_ctime_ns, now.st_ino] != key:
        return None
    if now.st_mtime_ns % 10**9 == 0 and time.time_ns() - now.st_mtime_ns < RACY_WINDOW_NS:
        return None  # whole-second stamps: a rewrite within this second would not show
    return now


def _put_stat(out: bytearray, at: int, s: os.stat_result) -> None:
    """git's stat data: 32-bit fields, seconds and nanoseconds apart; mode kept as is."""
    m = 0xFFFFFFFF
    fields = [
        (0, s.st_ctime_ns // 10**9),
        (4, s.st_ctime_ns % 10**9),
        (8, s.st_mtime_ns // 10**9),
        (12, s.st_mtime_ns % 10**9),
        (16, s.st_dev),
        (20, s.st_ino),
        (28, s.st_uid),
        (32, s.st_gid),
        (36, s.st_size),
    ]
    for off, value in fields:
        out[at + off : at + off + 4] = (value & m).to_bytes(4, "big")


def _write(index: Path, data: bytes) -> None:
    lock = index.with_name(index.name + ".lock")
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        raise Declined("the index is locked") from None
    try:
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(lock, index)
    except BaseException:
        with contextlib.suppress(OSError):
            lock.unlink()
        raise
