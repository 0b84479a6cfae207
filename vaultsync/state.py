"""`.last_sync`: what the last sync saw of every tracked file, written atomically.

The state is a cache, never the truth: the truth is the vault's HEAD. Losing it
costs time (a rebuild hashes the sources), never data, never a spurious commit.
"""

from __future__ import annotations

import base64
import os
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

STATE_NAME = ".last_sync"
VERSION = 3  # 2: columnar folders; 3: the folders in a detail file per source
# A file modified this close to the scan may be modified again within the same
# timestamp tick without its stat changing (git's "racily clean" case): such an
# entry is hashed again next run. 2 s covers the coarsest common file systems.
RACY_WINDOW_NS = 2_000_000_000

BLOB_LEN = 40


class Entry(NamedTuple):
    """What the last sync saw of one file: its stat when it was read, and the blob id of
    the content committed for it."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    blob: str

    @classmethod
    def of(cls, stat: list[int], blob: str) -> Entry:
        """From a stat key (`stat_key`) and a blob id."""
        size, mtime_ns, ctime_ns, inode = stat
        return cls(size, mtime_ns, ctime_ns, inode, blob)

    @property
    def stat(self) -> list[int]:
        """The stat key, as `stat_key` makes it."""
        return [self.size, self.mtime_ns, self.ctime_ns, self.inode]


def _pack_stat(stat: list[int]) -> str | list[int]:
    """The stat column as base64 of little-endian int64s: JSON numbers cost 3x more to
    write and read (100,000 files: 400,000 of them). A number out of range stays a list."""
    try:
        packed = array("q", stat)
    except OverflowError:
        return stat
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def _unpack_stat(text: str) -> list[int]:
    raw = base64.b64decode(text, validate=True)  # binascii.Error is a ValueError
    if len(raw) % 8:
        raise ValueError("a stat column of odd length")
    unpacked = array("q")
    unpacked.frombytes(raw)
    if sys.byteorder != "little":
        unpacked.byteswap()
    return unpacked.tolist()


class Folder:
    """The entries of one folder, kept as stored: names joined by newlines, the four stat
    numbers of each file in one flat list, blob ids in one hex string. Parsing 100,000
    entries this way costs a third of a list per entry, and the scan reads the columns
    directly. A folder a sync changes is turned into a dict; one it does not change is
    written back as it was read."""

    def __init__(self, names: list[str], stat: list[int], blobs: str) -> None:
        self.names, self.stat, self.blobs = names, stat, blobs
        self.index = {n: i for i, n in enumerate(names)}
        self._dict: dict[str, Entry] | None = None

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Folder:
        joined, stat, blobs = doc["names"], doc["stat"], doc["blobs"]
        if isinstance(stat, str):
            stat = _unpack_stat(stat)
        # Names joined by newlines; a folder where a name holds a newline stores a list.
        if isinstance(joined, list):  # rare: only a folder with a newline in a name
            if not all(isinstance(n, str) for n in joined):
                raise ValueError("a name that is not a string")
            names = joined
        else:
            names = joined.split("\n") if joined else []
        if not (isinstance(stat, list) and isinstance(blobs, str)):
            raise ValueError("columns of the wrong type")
        if len(stat) != 4 * len(names) or len(blobs) != BLOB_LEN * len(names):
            raise ValueError("columns of different lengths")
        # One pass in C: a float (1e999) or a string anywhere is found; a bool is harmless.
        if stat and type(sum(stat)) is not int:
            raise ValueError("a stat number that is not an integer")
        return cls(names, stat, blobs)

    def to_json(self) -> dict[str, Any]:
        self.columns()
        joined = "\n".join(self.names)
        names = list(self.names) if joined.count("\n") >= len(self.names) else joined
        return {"names": names, "stat": _pack_stat(self.stat), "blobs": self.blobs}

    def columns(self) -> Folder:
        """Bring the columns up to date after changes (before a scan or a save)."""
        if self._dict is not None:
            items = sorted(self._dict.items())
            self.names = [n for n, _ in items]
            self.stat = [x for _, e in items for x in e[:4]]
            self.blobs = "".join(e.blob for _, e in items)
            self.index = {n: i for i, n in enumerate(self.names)}
            self._dict = None
        return self

    def get(self, name: str) -> Entry | None:
        if self._dict is not None:
            return self._dict.get(name)
        i = self.index.get(name)
        if i is None:
            return None
        j = 4 * i
        size, mtime, ctime, ino = self.stat[j : j + 4]
        return Entry(size, mtime, ctime, ino, self.blobs[BLOB_LEN * i : BLOB_LEN * (i + 1)])

    def set(self, name: str, entry: Entry) -> None:
        """One entry written: in place when the name is known (a sync that changes 100
        files of a 20,000-file folder does not turn it into a dict), else via the dict."""
        i = self.index.get(name) if self._dict is None else None
        if i is None:
            self.as_dict()[name] = entry
            return
        self.stat[4 * i : 4 * i + 4] = entry[:4]
        self.blobs = self.blobs[: BLOB_LEN * i] + entry.blob + self.blobs[BLOB_LEN * (i + 1) :]

    def set_many(self, entries: dict[str, Entry]) -> None:
        """`set` for many: the blob column is rebuilt once, not once per entry (100
        entries of a 20,000-file folder: one 0.8 MB string made, not 100)."""
        if self._dict is not None or any(n not in self.index for n in entries):
            self.as_dict().update(entries)
            return
        parts, prev = [], 0
        for i, entry in sorted((self.index[n], e) for n, e in entries.items()):
            self.stat[4 * i : 4 * i + 4] = entry[:4]
            parts += [self.blobs[BLOB_LEN * prev : BLOB_LEN * i], entry.blob]
            prev = i + 1
        parts.append(self.blobs[BLOB_LEN * prev :])
        self.blobs = "".join(parts)

    def as_dict(self) -> dict[str, Entry]:
        if self._dict is None:
            self._dict = {n: e for n in self.names if (e := self.get(n)) is not None}
        return self._dict

    def __len__(self) -> int:
        return len(self._dict) if self._dict is not None else len(self.names)


Folders = dict[str, Folder]


def stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


@dataclass
class Rejection:
    reason: str
    blob: str | None  # None when the content was never read (unreadable, vanished)
    stat: list[int] = field(default_factory=list)
    since: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "blob": self.blob, "stat": self.stat, "since": self.since}


class Detail(NamedTuple):
    """A source's detail file as `.last_sync` names it: the SHA-1 of its bytes, and its
    stat when it was written (a cheap check that it is still the same file)."""

    sha1: str
    size: int
    mtime_ns: int
    inode: int


class Files(MutableMapping[str, Folders]):
    """Per source, its folders. A source's entries live in a detail file of their own
    (statefile.py), read on first use: a sync that touches no folder of a source never
    parses its entries. A detail file that turns out damaged loads as no entries, and the
    source is marked `lost` (the state then forgets what it cannot vouch for)."""

    def __init__(self, loaded: dict[str, Folders] | None = None) -> None:
        self.loaded: dict[str, Folders] = dict(loaded or {})
        self.pending: dict[str, Callable[[], Folders | None]] = {}
        self.lost: set[str] = set()
        self.changed: set[str] = set(self.loaded)  # sources whose detail is to be written
        # Sources whose folders were replaced or lost as a whole: not only changed entry by
        # entry (state.touched), so their detail is written whole, never as a journal.
        self.replaced: set[str] = set(self.loaded)
        self.on_lost: Callable[[str], None] | None = None

    def __getitem__(self, source: str) -> Folders:
        folders = self.loaded.get(source)
        if folders is not None:
            return folders
        load = self.pending.pop(source, None)
        if load is None:
            raise KeyError(source)
        folders = load()
        if folders is None:
            folders = {}
            self.lost.add(source)
            self.changed.add(source)
            self.replaced.add(source)
            if self.on_lost is not None:
                self.on_lost(source)
        self.loaded[source] = folders
        return folders

    def __setitem__(self, source: str, folders: Folders) -> None:
        self.pending.pop(source, None)
        self.loaded[source] = folders
        self.changed.add(source)
        self.replaced.add(source)

    def __delitem__(self, source: str) -> None:
        if source not in self:
            raise KeyError(source)
        self.pending.pop(source, None)
        self.loaded.pop(source, None)
        self.changed.add(source)
        self.replaced.add(source)

    def __contains__(self, source: object) -> bool:
        return source in self.loaded or source in self.pending

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.loaded.keys() | self.pending.keys()))

    def __len__(self) -> int:
        return len(self.loaded.keys() | self.pending.keys())

    def is_loaded(self, source: str) -> bool:
        return source in self.loaded


@dataclass
class State:
    head: str | None = None
    scanned_ns: int = 0
    files: Files = field(default_factory=Files)
    rejected: dict[str, Rejection] = field(default_factory=dict)  # by vault path
    config_blob: str | None = None
    # vault path -> [blob, schema] of big JSON Lines files: the schema the committed
    # version was checked against, so an append is checked by its new lines only.
    line_schemas: dict[str, list[str]] = field(default_factory=dict)
    # Per folder source: each folder's [mtime_ns, ctime_ns, inode] when it was last
    # listed (a folder whose stat is unchanged has the same names), and the checksum of
    # its git index (gitindex.py) with how many entries still await a refresh.
    dirs: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    indexes: dict[str, str] = field(default_factory=dict)
    # vault path -> this machine's last version of a file another machine has changed
    # since (an --any-host source): that old copy on this disk is no change to commit.
    superseded: dict[str, str] = field(default_factory=dict)
    unrefreshed: dict[str, int] = field(default_factory=dict)
    # Per source, how many files each folder holds: what a scan needs of a folder it
    # does not list, without reading the source's detail file.
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # Per source, the detail file `.last_sync` names, as it was loaded, and the journal
    # of entries changed since it was written (statefile.py), with the journal's rows.
    details: dict[str, Detail] = field(default_factory=dict)
    journals: dict[str, Detail] = field(default_factory=dict)
    journal_rows: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)  # vault paths put or dropped this run
    # Put this run from bytes it read and hashed as they are (an append): the entry's
    # stat is that read's, and may go into the git index unhashed (indexfile.py).
    hashed: set[str] = field(default_factory=set)
    roots: dict[str, str] = field(default_factory=dict)  # folder sources scanned this run
    index_roots: dict[str, str] = field(default_factory=dict)  # where the last scans were
    rebuilt: bool = False
    moved: bool = False  # made to follow a HEAD that moved since it was saved: rewrite it
    # Git indexes still being refreshed (statefile.save_details): `save` waits for them.
    sealing: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        self.files.on_lost = self._lost

    def _lost(self, source: str) -> None:
        """A detail file that could not be read: what depends on it is not trusted (its
        git index, its folders' stats), and the state is rewritten."""
        for per_source in (self.dirs, self.indexes, self.unrefreshed, self.counts):
            per_source.pop(source, None)
        self.moved = True

    def entry(self, vault_path: str) -> Entry | None:
        source, folder, name = split(vault_path)
        f = self.files.get(source, {}).get(folder)
        return f.get(name) if f is not None else None

    def put(self, vault_path: str, entry: Entry) -> None:
        source, folder, name = split(vault_path)
        folders = self.files.setdefault(source, {})
        f = folders.setdefault(folder, Folder([], [], ""))
        f.set(name, entry)
        self.touched.add(vault_path)
        self.files.changed.add(source)

    def put_all(self, entries: Iterable[tuple[str, list[int], str]]) -> None:
        """`put` for each (vault path, stat key, blob id); a folder the state does not
        have yet is made straight into its columns, without an Entry and a dict slot per
        file that `columns` would then convert (a first import of 100,000 files)."""
        new: dict[tuple[str, str], dict[str, tuple[list[int], str]]] = {}
        known: dict[int, tuple[Folder, dict[str, Entry]]] = {}
        for vault_path, stat, blob in entries:
            source, folder, name = split(vault_path)
            f = self.files.get(source, {}).get(folder)
            if f is not None:
                known.setdefault(id(f), (f, {}))[1][name] = Entry.of(stat, blob)
            else:
                new.setdefault((source, folder), {})[name] = (stat, blob)
            self.touched.add(vault_path)
            self.files.changed.add(source)
        for f, changed in known.values():
            f.set_many(changed)
        for (source, folder), rows in new.items():
            names = sorted(rows)
            stat = [x for n in names for x in rows[n][0]]
            blobs = "".join(rows[n][1] for n in names)
            self.files.setdefault(source, {})[folder] = Folder(names, stat, blobs)

    def drop(self, vault_path: str) -> None:
        source, folder, name = split(vault_path)
        folders = self.files.get(source, {})
        f = folders.get(folder)
        self.touched.add(vault_path)
        if f is not None:
            f.as_dict().pop(name, None)
            self.files.changed.add(source)
            if not len(f):
                del folders[folder]

    def folder_names(self, source: str) -> set[str]:
        """The folders of a source that hold files, without reading its detail file."""
        if self.files.is_loaded(source) or source not in self.counts:
            return set(self.files.get(source, {}))
        return set(self.counts[source])

    def count(self, source: str, folder: str) -> int:
        """How many files a folder holds, without reading the source's detail file."""
        if self.files.is_loaded(source) or source not in self.counts:
            f = self.files.get(source, {}).get(folder)
            return len(f) if f is not None else 0
        return self.counts[source].get(folder, 0)

    def forget_source(self, name: str) -> None:
        self.files.pop(name, None)
        for per_source in (
            self.dirs,
            self.indexes,
            self.unrefreshed,
            self.counts,
            self.index_roots,
        ):
            per_source.pop(name, None)
        prefix = name + "/"
        self.rejected = {vp: r for vp, r in self.rejected.items() if not vp.startswith(prefix)}


def split(vault_path: str) -> tuple[str, str, str]:
    """`claude/a/b/m.json` -> ("claude", "a/b", "m.json")."""
    source, _, rel = vault_path.partition("/")
    folder, _, name = rel.rpartition("/")
    return source, folder, name


def path_for(vault: Path) -> Path:
    return vault / STATE_NAME


def load(vault: Path) -> State | None:
    """The saved state, or None when it is missing or damaged in any way (statefile.py)."""
    from vaultsync import statefile

    return statefile.load(vault)


def save(vault: Path, state: State) -> None:
    """Write the state: the detail files it changed, its git indexes, then `.last_sync`."""
    from vaultsync import statefile

    statefile.save(vault, state)
