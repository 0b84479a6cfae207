"""git's pack and pack-index (v2) formats, as far as vaultsync writes them: entry headers,
OFS_DELTA offsets, deltas made of copy and insert operations, and the .idx that lists a
pack's objects (sorted ids, CRC32 of each entry, offsets) with its SHA-1 trailers.

Described in git's Documentation/gitformat-pack.txt; nothing here starts git. Reading is
by `os.pread` on open files: no pack is read whole."""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

OBJ_BLOB = 3
OBJ_OFS_DELTA = 6
OBJ_REF_DELTA = 7
PACK_HEADER = 12  # "PACK", version, object count: the first entry starts here
IDX_MAGIC = b"\377tOc"
# A copy op can say up to 16 MiB, but git's own encoder never says more than 64 KiB:
# every reader handles that size.
COPY_MAX = 0x10000
INSERT_MAX = 0x7F


class PackFormatError(ValueError):
    """A pack or index is not what this module expects: the caller declines."""


# -- entries ------------------------------------------------------------------------------


def entry_header(kind: int, size: int) -> bytes:
    """An entry's type and (inflated) size: 4 bits of size in the first byte, then 7 a byte."""
    b = (kind << 4) | (size & 0x0F)
    size >>= 4
    out = bytearray()
    while size:
        out.append(b | 0x80)
        b = size & 0x7F
        size >>= 7
    out.append(b)
    return bytes(out)


def ofs_encoding(distance: int) -> bytes:
    """How far back an OFS_DELTA's base starts (git's offset encoding, big-endian with a
    +1 bias on each continued byte)."""
    if distance <= 0:
        raise PackFormatError("an OFS_DELTA base must come before its delta")
    out = [distance & 0x7F]
    distance >>= 7
    while distance:
        distance -= 1
        out.append(0x80 | (distance & 0x7F))
        distance >>= 7
    return bytes(reversed(out))


@dataclass(frozen=True)
class Entry:
    """One entry's header, read from a pack: `size` is the inflated size (of the object,
    or of the delta for a delta), `data_at` where its zlib stream starts."""

    offset: int
    kind: int
    size: int
    header_end: int  # where the type-and-size header ends (an OFS_DELTA's offset follows)
    data_at: int
    base: int | None  # an OFS_DELTA's base offset


def read_entry(fd: int, offset: int) -> Entry:
    head = os.pread(fd, 32, offset)
    if not head:
        raise PackFormatError(f"no entry at offset {offset}")
    b = head[0]
    kind, size, shift, i = (b >> 4) & 7, b & 0x0F, 4, 1
    while b & 0x80:
        if i >= len(head):
            raise PackFormatError("entry header too long")
        b = head[i]
        size |= (b & 0x7F) << shift
        shift += 7
        i += 1
    base, header_end = None, offset + i
    if kind == OBJ_OFS_DELTA:
        b = head[i]
        dist = b & 0x7F
        i += 1
        while b & 0x80:
            if i >= len(head):
                raise PackFormatError("OFS_DELTA offset too long")
            b = head[i]
            dist = ((dist + 1) << 7) | (b & 0x7F)
            i += 1
        base = offset - dist
        if dist <= 0 or base < PACK_HEADER:
            raise PackFormatError("OFS_DELTA base before the first entry")
    return Entry(offset, kind, size, header_end, offset + i, base)


def delta_sizes(raw_zlib: bytes) -> tuple[int, int]:
    """(source size, target size) from the start of a deflated delta."""
    head = zlib.decompressobj().decompress(raw_zlib, 24)
    src, i = read_varint(head, 0)
    dst, _ = read_varint(head, i)
    return src, dst


# -- deltas -------------------------------------------------------------------------------


def varint(n: int) -> bytes:
    """A delta header's size: little-endian, 7 bits a byte."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_varint(data: bytes, i: int) -> tuple[int, int]:
    n, shift = 0, 0
    while True:
        if i >= len(data):
            raise PackFormatError("truncated delta header")
        b = data[i]
        n |= (b & 0x7F) << shift
        shift += 7
        i += 1
        if not b & 0x80:
            return n, i


def copy_op(offset: int, size: int) -> bytes:
    """Copy `size` (1..2^24-1) bytes of the base from `offset`; zero bytes are left out."""
    cmd, args = 0x80, bytearray()
    for k in range(4):
        byte = (offset >> (8 * k)) & 0xFF
        if byte:
            cmd |= 1 << k
            args.append(byte)
    encoded = 0 if size == 0x10000 else size  # a size of 0 means 0x10000
    for k in range(3):
        byte = (encoded >> (8 * k)) & 0xFF
        if byte:
            cmd |= 0x10 << k
            args.append(byte)
    return bytes([cmd]) + bytes(args)


def append_delta(base_size: int, data: bytes | memoryview) -> bytes:
    """A delta that makes `data` from a base that is its first `base_size` bytes: copy ops
    for the base, insert ops for the rest."""
    if not 0 < base_size <= len(data):
        raise PackFormatError("the base must be a non-empty prefix of the target")
    out = [varint(base_size), varint(len(data))]
    for at in range(0, base_size, COPY_MAX):
        out.append(copy_op(at, min(COPY_MAX, base_size - at)))
    view = memoryview(data)
    for at in range(base_size, len(data), INSERT_MAX):
        chunk = view[at : at + INSERT_MAX]
        out.append(bytes([len(chunk)]))
        out.append(bytes(chunk))
    return b"".join(out)


def appends_only(delta: bytes) -> bool:
    """Whether a delta copies its whole base in order from offset 0 and then only
    inserts: its target then starts with its base."""
    src, i = read_varint(delta, 0)
    dst, i = read_varint(delta, i)
    copied, inserted = 0, 0
    while i < len(delta):
        cmd = delta[i]
        i += 1
        if cmd & 0x80:
            if inserted:
                return False
            offset, size, i = _copy_op(delta, i, cmd)
            if offset != copied:
                return False
            copied += size
        elif cmd:
            inserted += cmd
            i += cmd
        else:
            return False
    return i == len(delta) and copied == src and src + inserted == dst


def _copy_op(delta: bytes, i: int, cmd: int) -> tuple[int, int, int]:
    """A copy instruction's offset and size (0 means 64 KiB), and where the next starts."""
    offset = size = 0
    for k in range(4):
        if cmd & (1 << k):
            offset |= delta[i] << (8 * k)
            i += 1
    for k in range(3):
        if cmd & (0x10 << k):
            size |= delta[i] << (8 * k)
            i += 1
    return offset, size or 0x10000, i


def apply_delta(base: bytes, delta: bytes) -> bytes:
    """The target a delta makes from `base` (for tests and checks; git does the reading)."""
    src, i = read_varint(delta, 0)
    dst, i = read_varint(delta, i)
    if src != len(base):
        raise PackFormatError("delta is for a base of another size")
    out = bytearray()
    while i < len(delta):
        cmd = delta[i]
        i += 1
        if cmd & 0x80:
            offset, size, i = _copy_op(delta, i, cmd)
            if offset + size > len(base):
                raise PackFormatError("copy past the end of the base")
            out += base[offset : offset + size]
        elif cmd:
            out += delta[i : i + cmd]
            i += cmd
        else:
            raise PackFormatError("delta op 0 is reserved")
    if len(out) != dst:
        raise PackFormatError("delta made a target of the wrong size")
    return bytes(out)


# -- pack index v2 ------------------------------------------------------------------------


@dataclass(frozen=True)
class IdxEntry:
    oid: bytes  # 20 bytes
    crc: int
    offset: int


def write_idx(entries: Sequence[IdxEntry], pack_sha: bytes) -> bytes:
    """A version 2 .idx for a pack whose trailer is `pack_sha`."""
    ordered = sorted(entries, key=lambda e: e.oid)
    fanout = [0] * 256
    for e in ordered:
        fanout[e.oid[0]] += 1
    total = 0
    for k in range(256):
        total += fanout[k]
        fanout[k] = total
    small: list[int] = []
    large: list[int] = []
    for e in ordered:
        if e.offset < 0x80000000:
            small.append(e.offset)
        else:
            small.append(0x80000000 | len(large))
            large.append(e.offset)
    n = len(ordered)
    parts = [
        IDX_MAGIC,
        struct.pack(">I", 2),
        struct.pack(">256I", *fanout),
        b"".join(e.oid for e in ordered),
        struct.pack(f">{n}I", *(e.crc for e in ordered)),
        struct.pack(f">{n}I", *small),
        struct.pack(f">{len(large)}Q", *large),
        pack_sha,
    ]
    body = b"".join(parts)
    return body + hashlib.sha1(body).digest()


class Idx:
    """A pack's .idx (version 2), read by lookups: ids are found by the fan-out and a
    binary search, never by loading the whole table into Python objects."""

    def __init__(self, data: bytes) -> None:
        if data[:4] != IDX_MAGIC or struct.unpack(">I", data[4:8])[0] != 2:
            raise PackFormatError("not a version 2 pack index")
        self.data = data
        self.count = struct.unpack(">I", data[8 + 255 * 4 : 8 + 256 * 4])[0]
        self._oids = 8 + 256 * 4
        self._crcs = self._oids + 20 * self.count
        self._offs = self._crcs + 4 * self.count
        self._large = self._offs + 4 * self.count
        if len(data) < self._large + 40:
            raise PackFormatError("pack index is truncated")

    @property
    def pack_sha(self) -> bytes:
        return self.data[-40:-20]

    def find(self, oid: bytes) -> int | None:
        """The position of `oid` in the sorted table, or None."""
        d, first = self.data, oid[0]
        lo = int.from_bytes(d[4 + 4 * first : 8 + 4 * first], "big") if first else 0
        hi = int.from_bytes(d[8 + 4 * first : 12 + 4 * first], "big")
        while lo < hi:
            mid = (lo + hi) // 2
            at = self._oids + 20 * mid
            here = d[at : at + 20]
            if here == oid:
                return mid
            if here < oid:
                lo = mid + 1
            else:
                hi = mid
        return None

    def oid(self, pos: int) -> bytes:
        return self.data[self._oids + 20 * pos : self._oids + 20 * pos + 20]

    def crc(self, pos: int) -> int:
        at = self._crcs + 4 * pos
        return int(struct.unpack(">I", self.data[at : at + 4])[0])

    def offset(self, pos: int) -> int:
        at = self._offs + 4 * pos
        off = int(struct.unpack(">I", self.data[at : at + 4])[0])
        if off & 0x80000000:
            at = self._large + 8 * (off & 0x7FFFFFFF)
            off = int(struct.unpack(">Q", self.data[at : at + 8])[0])
        return off

    def offsets(self) -> list[int]:
        """Every entry's offset, in table order (one unpack: 100,000 entries in ~2 ms)."""
        n = self.count
        small = struct.unpack(f">{n}I", self.data[self._offs : self._offs + 4 * n])
        if not any(o & 0x80000000 for o in small):
            return list(small)
        return [self.offset(k) for k in range(n)]
