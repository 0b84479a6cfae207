"""A new version of a big file that only grew (an agent's transcript), stored as a git
delta at once: a sync then writes what was appended, not the whole file again.

fast-import stores every blob whole (it deltas only within its own stream), so a 30 MB
transcript cost a 30 MB deflate per sync and a repack to fold the versions. Here the
new version goes into a pack of our own as an OFS_DELTA (copy the committed version,
insert the appended bytes) beside the entries of its base, copied raw from the pack that
holds them (git keeps no thin pack: a delta's base must be in its pack):

- HEAD's version is a whole blob in some pack: the new pack is that entry and the delta;
- HEAD's version is a delta in a pack that holds only one whole blob and deltas made
  from it (the pack this module wrote last time, which a .keep of ours keeps out of
  git's repacks): the new pack is that pack's entries,
  at the same offsets, and the new delta; the old pack is then redundant and removed,
  as `git repack -d` removes the packs it folded. Past MAX_DEPTH the new delta is made
  against the whole blob instead, when every delta on the way only appended to it.

Anything else (a loose object, a REF_DELTA, an entry whose CRC does not match its
index, a pack someone else marked to keep, a multi-pack index) declines: the caller stores the
file whole, as before. The blob id is the caller's, hashed from the bytes it
validated; nothing is read back from the work tree."""

from __future__ import annotations

import contextlib
import hashlib
import os
import zlib
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vaultsync.fsutil import fsync_dir, write_all
from vaultsync.packformat import (
    OBJ_BLOB,
    OBJ_OFS_DELTA,
    PACK_HEADER,
    Entry,
    Idx,
    IdxEntry,
    PackFormatError,
    append_delta,
    appends_only,
    delta_sizes,
    entry_header,
    ofs_encoding,
    read_entry,
    write_idx,
)

if TYPE_CHECKING:
    from vaultsync.gitvault import GitVault

# Reading a version applies its whole chain, each step a new buffer the file's size: 16
# steps read a 30 MB transcript in ~0.3 s (50, git's default --depth, ~1.2 s here).
MAX_DEPTH = 16
MAX_ENTRIES = 400  # a pack of ours carries at most this many versions of one file
TMP_PACK = "tmp_vspack_"
TMP_IDX = "tmp_vsidx_"
SIDE_FILES = (".bitmap", ".rev", ".promisor", ".mtimes")
# Our packs are kept from git's repacks (a geometric fold would otherwise merge one into
# a pack of everything, and the next append could not extend it): each is already one
# whole blob and its deltas, and the next append replaces it.
KEEP = b"vaultsync: the versions of one appended file (packwrite)\n"
DECLINED = (PackFormatError, IndexError, zlib.error, ValueError)


@dataclass(frozen=True)
class Source:
    """The pack holding HEAD's version, opened, with what the plan needs of it."""

    pack: Path
    idx: Idx
    fd: int
    size: int


def store_append(gv: GitVault, old_blob: str, old_size: int, data: bytes, blob: str) -> bool:
    """Store `data` (blob id `blob`, whose first `old_size` bytes are the committed blob
    `old_blob`) as a delta in a new pack. False: declined, nothing written; the caller
    stores it the usual way. A failure to write (a full disk) raises OSError."""
    pack_dir = gv.git_dir / "objects" / "pack"
    repair(pack_dir)
    if (pack_dir / "multi-pack-index").exists() or not 0 < old_size < len(data):
        return False
    if exists_loose(gv.git_dir, blob):
        return True
    found = _locate(pack_dir, bytes.fromhex(old_blob), bytes.fromhex(blob))
    if isinstance(found, str):
        return True  # stored already (the same content committed before)
    if found is None:
        return False
    plan = None
    try:
        for src, pos in found:
            plan = _plan(src, pos, old_size, data, bytes.fromhex(blob))
            if plan is not None:
                break
        if plan is None:
            return False
        publish(pack_dir, *plan[:2])
    finally:
        for src, _ in found:
            os.close(src.fd)
    if plan[2] is not None:
        remove_pack(plan[2])
    return True


def _locate(pack_dir: Path, old: bytes, new: bytes) -> list[tuple[Source, int]] | str | None:
    """The packs that hold `old` (with its position in each), best first; "present" when
    `new` is already stored; None when `old` is in no pack."""
    found: list[tuple[Source, int]] = []
    try:
        names = sorted(e.name for e in os.scandir(pack_dir) if e.name.endswith(".idx"))
    except FileNotFoundError:
        return None
    for name in names:
        if not name.startswith("pack-"):
            continue
        pack = pack_dir / (name[:-4] + ".pack")
        try:
            idx = Idx((pack_dir / name).read_bytes())
        except (OSError, PackFormatError):
            continue
        if idx.find(new) is not None:
            for src, _ in found:
                os.close(src.fd)
            return "present"
        pos = idx.find(old)
        if pos is None:
            continue
        try:
            fd = os.open(pack, os.O_RDONLY)
        except OSError:
            continue
        found.append((Source(pack, idx, fd, os.fstat(fd).st_size), pos))
    # A small pack first: one of ours, whose copy lets the old one go.
    found.sort(key=lambda f: f[0].idx.count)
    return found or None


Plan = tuple[list[bytes], list[IdxEntry], Path | None]  # entries, index rows, pack to drop


def _plan(src: Source, pos: int, old_size: int, data: bytes, new: bytes) -> Plan | None:
    """The new pack's entries (each raw, in order from offset 12) and index rows, and the
    pack they make redundant; None to decline."""
    try:
        offs = src.idx.offsets()
        ends = sorted(offs)
        at = src.idx.offset(pos)
        e = read_entry(src.fd, at)
        if e.kind == OBJ_BLOB:
            raw = _raw(src, ends, at, src.idx.crc(pos)) if e.size == old_size else None
            if raw is None:
                return None
            entries = [raw]
            rows = [IdxEntry(src.idx.oid(pos), src.idx.crc(pos), PACK_HEADER)]
            base, base_size, drop = PACK_HEADER, old_size, None
        elif e.kind == OBJ_OFS_DELTA:
            copied = _copy_own_pack(src, offs, ends)
            if copied is None or delta_sizes(_zdata(src, ends, e))[1] != old_size:
                return None
            entries, rows = copied
            chosen = _delta_base(src, ends, e, len(data))
            if chosen is None:
                return None
            # The pack is copied whole, so its entries keep their offsets.
            base = chosen.offset
            base_size = old_size if chosen is e else chosen.size
            drop = src.pack
        else:
            return None
        delta = append_delta(base_size, data)
    except (*DECLINED, OSError):
        return None
    here = PACK_HEADER + sum(len(x) for x in entries)
    entry = entry_header(OBJ_OFS_DELTA, len(delta)) + ofs_encoding(here - base)
    entry += zlib.compress(delta, 1)
    entries.append(entry)
    rows.append(IdxEntry(new, zlib.crc32(entry), here))
    return entries, rows, drop


def _delta_base(src: Source, ends: list[int], e: Entry, new_size: int) -> Entry | None:
    """Whose delta the new version becomes: HEAD's version `e` itself while its chain is
    short, else the whole blob at the chain's root, when every delta on the way only
    appended (so the root is a prefix of the new version) and it is at least half of it."""
    chain = [e]
    while chain[-1].kind == OBJ_OFS_DELTA:
        assert chain[-1].base is not None
        chain.append(read_entry(src.fd, chain[-1].base))
        if len(chain) > MAX_ENTRIES + 1:
            return None
    root = chain[-1]
    if root.kind != OBJ_BLOB:
        return None
    if len(chain) - 1 < MAX_DEPTH:
        return e
    for d in chain[:-1]:
        if not appends_only(zlib.decompress(_zdata(src, ends, d))):
            return None
    if new_size - root.size > root.size:
        return None  # mostly new bytes: stored whole, to be the next root
    return root


def _copy_own_pack(
    src: Source, offs: list[int], ends: list[int]
) -> tuple[list[bytes], list[IdxEntry]] | None:
    """All of a pack that holds one whole blob at its first offset and OFS_DELTAs, each
    entry CRC-checked; None for any other pack (its objects stay where they are)."""
    n = src.idx.count
    if n > MAX_ENTRIES or any(src.pack.with_suffix(s).exists() for s in SIDE_FILES):
        return None
    if not _ours_or_unkept(src.pack):
        return None  # someone else asked git to keep it: we leave it as it is
    if ends[0] != PACK_HEADER:
        return None
    body = os.pread(src.fd, src.size - 20 - PACK_HEADER, PACK_HEADER)
    if len(body) != src.size - 20 - PACK_HEADER:
        return None
    rows = []
    view = memoryview(body)  # the CRCs read the entries in place (a slice copies ~8 MB)
    for k, at in enumerate(offs):
        e = read_entry(src.fd, at)
        if (e.kind == OBJ_BLOB) != (at == PACK_HEADER) or e.kind not in (OBJ_BLOB, OBJ_OFS_DELTA):
            return None
        end = _end(src, ends, at)
        if zlib.crc32(view[at - PACK_HEADER : end - PACK_HEADER]) != src.idx.crc(k):
            return None
        rows.append(IdxEntry(src.idx.oid(k), src.idx.crc(k), at))
    return [body], rows


def _ours_or_unkept(pack: Path) -> bool:
    try:
        return pack.with_suffix(".keep").read_bytes() == KEEP
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _end(src: Source, ends: list[int], at: int) -> int:
    k = bisect_right(ends, at)
    return ends[k] if k < len(ends) else src.size - 20


def _raw(src: Source, ends: list[int], at: int, crc: int) -> bytes | None:
    end = _end(src, ends, at)
    raw = os.pread(src.fd, end - at, at)
    return raw if len(raw) == end - at and zlib.crc32(raw) == crc else None


def _zdata(src: Source, ends: list[int], e: Entry) -> bytes:
    end = _end(src, ends, e.offset)
    return os.pread(src.fd, end - e.data_at, e.data_at)


def publish(pack_dir: Path, entries: list[bytes], rows: list[IdxEntry], keep: bool = True) -> None:
    """Write the pack and its index the way git does: each to a temporary file, fsynced,
    then renamed, the .idx last (git uses a pack only once its .idx is there). `keep`:
    with a .keep file that repacks leave alone (the versions of an appended file)."""
    header = b"PACK" + (2).to_bytes(4, "big") + len(rows).to_bytes(4, "big")
    h = hashlib.sha1(header)
    for chunk in entries:
        h.update(chunk)
    trailer = h.digest()
    name = trailer.hex()
    tmp_pack = pack_dir / f"{TMP_PACK}{name}"
    tmp_idx = pack_dir / f"{TMP_IDX}{name}"
    try:
        _write(tmp_pack, [header, *entries, trailer])
        _write(tmp_idx, [write_idx(rows, trailer)])
        kept = pack_dir / f"pack-{name}.keep"
        if keep and not kept.exists():
            _write(kept, [KEEP])
        os.replace(tmp_pack, pack_dir / f"pack-{name}.pack")
        os.replace(tmp_idx, pack_dir / f"pack-{name}.idx")
    except BaseException:
        placed = pack_dir / f"pack-{name}.idx"
        doomed = (
            [tmp_pack, tmp_idx] if placed.exists() else [tmp_pack, tmp_idx, *_pack_files(placed)]
        )
        for path in doomed:
            with contextlib.suppress(OSError):
                path.unlink()
        raise
    fsync_dir(pack_dir)


def _pack_files(idx: Path) -> list[Path]:
    return [idx.with_suffix(".pack"), idx.with_suffix(".keep")]


def _write(path: Path, chunks: list[bytes]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    try:
        for chunk in chunks:
            write_all(fd, chunk)
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_pack(pack: Path) -> None:
    """A pack whose every object is now in another: its .idx first, so no reader finds
    the index of a pack that is gone."""
    for suffix in (".idx", ".pack", ".keep"):
        with contextlib.suppress(FileNotFoundError):
            pack.with_suffix(suffix).unlink()


def repair(pack_dir: Path) -> None:
    """What a run killed while publishing left: temporary files, and a pack renamed into
    place whose .idx never followed (its temporary .idx names it). The caller holds the
    vault's lock, so no other vaultsync is writing these."""
    try:
        names = [e.name for e in os.scandir(pack_dir) if e.name.startswith("tmp_vs")]
    except FileNotFoundError:
        return
    for name in names:
        if name.startswith(TMP_IDX):
            pack = pack_dir / f"pack-{name[len(TMP_IDX) :]}.pack"
            if not pack.with_suffix(".idx").exists():
                for suffix in (".pack", ".keep"):
                    with contextlib.suppress(FileNotFoundError):
                        pack.with_suffix(suffix).unlink()
        with contextlib.suppress(FileNotFoundError):
            (pack_dir / name).unlink()


def exists_loose(git_dir: Path, blob: str) -> bool:
    return (git_dir / "objects" / blob[:2] / blob[2:]).exists()
