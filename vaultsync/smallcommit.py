"""A small commit written here rather than by `git fast-import`: its blobs, the trees
along its changed paths and the commit itself go into one new pack, then the branch
moves with `update-ref` (old value checked).

Why: a sync that changes 100 files of 100,000 spends most of its time in git
rewriting the folder trees those files are in (five of 1.1 MB, 20,000 entries each):
fast-import loads each into its own structures, sorts, hashes and deflates it again,
~0.25 s of C. Here a changed tree is patched as bytes: its entries split by one regex,
the changed ones replaced or inserted in place (git's order), the rest joined as they
were, and a big tree is stored without compression (deflate would cost 12 ms per MB for
a 12% gain; a later repack makes it a delta of its previous version anyway).

Only what is simple is done here: a commit on an existing parent, of files (mode
100644) and deletions, up to SMALL_FILES files and SMALL_BYTES bytes. Anything else,
or anything unexpected in the trees read (Declined), goes to fast-import as before.
The pack is complete before the branch points into it, so a crash leaves at most an
unused pack; no object in it refers to one that is not there or in the vault already.
"""

from __future__ import annotations

import hashlib
import re
import threading
import zlib
from bisect import bisect_left
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from vaultsync import packformat, packwrite
from vaultsync.packformat import IdxEntry

if TYPE_CHECKING:
    from vaultsync.fastimport import Ident
    from vaultsync.gitvault import GitVault

SMALL_FILES = 1000  # a commit of more files is streamed to fast-import
SMALL_BYTES = 16 << 20  # as is one whose new files hold more than this
STORED_TREE = 64 << 10  # a tree this big is stored without compression
OBJ_COMMIT, OBJ_TREE, OBJ_BLOB = 1, 2, 3
FILE_MODE, DIR_MODE = b"100644", b"40000"
_ENTRY = re.compile(rb"[^\0]*\0.{20}", re.S)  # "<mode> <name>\0" and a binary id
_BAD_PARTS = (b"", b".", b"..", b".git")

# A change: the new file's blob id (20 bytes) and its bytes (None: the object exists
# already), or None for a deletion.
Change = tuple[bytes, bytes | None] | None
Changes = dict[bytes, Change]  # by path below a tree


class Declined(Exception):
    """Not for this writer: the caller hands the commit to fast-import instead."""


def commit(
    gv: GitVault,
    ref: str,
    parent: str,
    changes: Mapping[str, Change],
    message: str,
    when: datetime,
    ident: Ident,
    before_ref: Callable[[], None] | None = None,
    ahead: TreeCache | None = None,
) -> str:
    """Write one commit on `ref` (whose tip must be `parent`); returns its id.
    `before_ref` runs once the objects are in place, before the branch moves (the
    vault's index: a run killed between the two then leaves the index ahead of HEAD,
    which the next sync's commit of the same files settles, never behind it for good)."""
    by_path: Changes = {}
    for vp, change in changes.items():
        path = vp.encode("utf-8", "surrogateescape")
        if any(part in _BAD_PARTS for part in path.split(b"/")):
            raise Declined(f"a path git would refuse: {vp!r}")
        by_path[path] = change
    head = gv.read_objects([parent], ["commit"]).get("commit", b"")
    if not head.startswith(b"tree ") or len(head) < 45:
        raise Declined("the parent commit could not be read")
    writer = _Trees(gv, ahead.ready() if ahead is not None and ahead.head == parent else None)
    root = writer.edit(bytes.fromhex(head[5:45].decode()), by_path)
    stamp = f"{int(when.timestamp())} +0000"
    who = f"{ident.name} <{ident.email}> {stamp}"
    body = f"tree {root.hex()}\nparent {parent}\nauthor {who}\ncommitter {who}\n\n{message}"
    commit_id = writer.add(OBJ_COMMIT, body.encode("utf-8"))
    for change in by_path.values():
        if change is not None and change[1] is not None:
            if _object_id(OBJ_BLOB, change[1]) != change[0]:
                raise Declined("a blob id that does not match its bytes")
            writer.add(OBJ_BLOB, change[1], change[0])
    gv.clear_commit_locks()
    pack_dir = gv.git_dir / "objects" / "pack"
    packwrite.repair(pack_dir)  # what a killed run left half-published
    writer.publish(pack_dir)
    if before_ref is not None:
        before_ref()
    gv.run("update-ref", "-m", "vaultsync: sync", ref, commit_id.hex(), parent)
    return commit_id.hex()


class TreeCache:
    """HEAD's trees read ahead, while the scan still runs: the folder of each of the first
    changed files of a sync (and the root with the first), each by a `cat-file` of its
    own in a thread, so the commit finds them parsed (git inflates 5 MB of trees for a
    100-changed sync of bench (b): ~40 ms). Only a hint: what it did not read, the
    commit reads itself."""

    AHEAD = 8  # folders read ahead at most

    def __init__(self, gv: GitVault, head: str) -> None:
        self.gv, self.head = gv, head
        self.trees: dict[bytes, list[bytes]] = {}
        self._asked: set[str] = set()
        self._threads: list[threading.Thread] = []

    def want(self, top: str) -> None:
        if top in self._asked or len(self._asked) >= self.AHEAD or "\n" in top:
            return
        self._asked.add(top)
        names = [f"{self.head}:{top}"] + ([] if self._threads else [f"{self.head}^{{tree}}"])
        thread = threading.Thread(target=self._read, args=(names,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def _read(self, names: list[str]) -> None:
        try:
            for oid, data in _cat_trees(self.gv, names):
                self.trees[oid] = _parse(data)
        except Exception:  # a hint only: the commit reads what is not here
            return

    def ready(self) -> dict[bytes, list[bytes]]:
        for thread in self._threads:
            thread.join()
        self._threads = []
        return self.trees


def _cat_trees(gv: GitVault, names: list[str]) -> list[tuple[bytes, bytes]]:
    """(id, data) of each of these that is a tree."""
    found = [obj for obj in gv.cat_objects(names) if obj is not None and obj[1] == "tree"]
    return [(bytes.fromhex(oid), data) for oid, _, data in found]


class _Trees:
    """The trees of one commit: read from git a level at a time, patched, collected with
    the commit's other new objects for one pack."""

    def __init__(self, gv: GitVault, known: dict[bytes, list[bytes]] | None = None) -> None:
        self.gv = gv
        self._objects: dict[bytes, tuple[int, bytes]] = {}
        self._read: dict[bytes, list[bytes]] = dict(known or {})

    def edit(self, root: bytes, changes: Changes) -> bytes:
        self._prefetch(root, changes)
        new = self._edit(root, changes)
        return new if new is not None else self.add(OBJ_TREE, b"")

    def add(self, kind: int, data: bytes, oid: bytes | None = None) -> bytes:
        oid = oid or _object_id(kind, data)
        self._objects.setdefault(oid, (kind, data))
        return oid

    def publish(self, pack_dir: Path) -> None:
        entries: list[bytes] = []
        rows: list[IdxEntry] = []
        at = packformat.PACK_HEADER
        for oid, (kind, data) in self._objects.items():
            level = 0 if kind == OBJ_TREE and len(data) >= STORED_TREE else 1
            entry = packformat.entry_header(kind, len(data)) + zlib.compress(data, level)
            entries.append(entry)
            rows.append(IdxEntry(oid, zlib.crc32(entry), at))
            at += len(entry)
        packwrite.publish(pack_dir, entries, rows, keep=False)

    def _prefetch(self, root: bytes, changes: Changes) -> None:
        """Every old tree the edit will patch, one `cat-file` per level of depth."""
        level = [(root, changes)]
        while level:
            wanted = sorted({oid for oid, _ in level if oid not in self._read})
            if wanted:
                ids = [oid.hex() for oid in wanted]
                found = self.gv.read_objects(ids, ids)
                for oid, hex_id in zip(wanted, ids, strict=True):
                    if hex_id not in found:
                        raise Declined(f"tree {hex_id} is missing")
                    self._read[oid] = _parse(found[hex_id])
            below: list[tuple[bytes, Changes]] = []
            for oid, under in level:
                entries = _Entries(self._read[oid])
                for name, sub in _split(under)[1].items():
                    i = entries.find(name)
                    if i is not None and _is_dir(entries.parts[i]):
                        below.append((entries.parts[i][-20:], sub))
            level = below

    def _edit(self, oid: bytes | None, changes: Changes) -> bytes | None:
        """The new id of this tree (None: it is empty now, so it is not written)."""
        entries = _Entries(list(self._read[oid]) if oid is not None else [])
        direct, subs = _split(changes)
        for name, change in direct.items():  # deletions first, as fast-import's D lines
            if change is None:
                entries.drop(name)
        for name, sub in subs.items():
            i = entries.find(name)
            old = entries.parts[i] if i is not None else None
            below = old[-20:] if old is not None and _is_dir(old) else None
            if old is not None and below is None and all(c is None for c in sub.values()):
                continue  # deleting below a file: nothing there to delete
            new = self._edit(below, sub)
            if new is None:
                entries.drop(name)
            else:
                entries.put(DIR_MODE, name, new)
        for name, change in direct.items():
            if change is not None:
                entries.put(FILE_MODE, name, change[0])
        if not entries.parts:
            return None
        return self.add(OBJ_TREE, b"".join(entries.parts))


class _Entries:
    """A tree's entries as its own byte strings, in git's order (a folder sorts as if
    its name ended in "/"), found and placed by binary search: patching 100 names of a
    20,000-entry tree looks at ~1,500 of them, not all."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    def find(self, name: bytes) -> int | None:
        for key in (name, name + b"/"):
            i = bisect_left(self.parts, key, key=_key)
            if i < len(self.parts) and _key(self.parts[i]) == key:
                return i
        return None

    def drop(self, name: bytes) -> None:
        i = self.find(name)
        if i is not None:
            del self.parts[i]

    def put(self, mode: bytes, name: bytes, oid: bytes) -> None:
        entry = mode + b" " + name + b"\0" + oid
        i = self.find(name)
        if i is not None and _is_dir(self.parts[i]) == (mode == DIR_MODE):
            self.parts[i] = entry  # same kind, same place in the order
            return
        self.drop(name)
        self.parts.insert(bisect_left(self.parts, _key(entry), key=_key), entry)


def _is_dir(entry: bytes) -> bool:
    return entry.startswith(DIR_MODE + b" ")


def _key(entry: bytes) -> bytes:
    """The entry's place in git's order: its name, and "/" after a folder's."""
    name = entry[entry.index(b" ") + 1 : -21]
    return name + b"/" if _is_dir(entry) else name


def _split(
    changes: Changes,
) -> tuple[Changes, dict[bytes, Changes]]:
    """Changes of this tree's own entries, and those below each of its folders."""
    direct: Changes = {}
    subs: dict[bytes, Changes] = {}
    for path, change in changes.items():
        first, slash, rest = path.partition(b"/")
        if slash:
            subs.setdefault(first, {})[rest] = change
        else:
            direct[first] = change
    return direct, subs


def _parse(data: bytes) -> list[bytes]:
    parts: list[bytes] = _ENTRY.findall(data)
    if sum(map(len, parts)) != len(data):
        raise Declined("a tree this writer cannot read")
    return parts


def _object_id(kind: int, data: bytes) -> bytes:
    name = {OBJ_COMMIT: b"commit", OBJ_TREE: b"tree", OBJ_BLOB: b"blob"}[kind]
    h = hashlib.sha1(b"%s %d\0" % (name, len(data)))
    h.update(data)
    return h.digest()
