"""`.last_sync`: what the last sync saw of every tracked file, written atomically.

The state is a cache, never the truth: the truth is the vault's HEAD. Losing it
costs time (a rebuild hashes the sources), never data, never a spurious commit.
"""

from __future__ import annotations

import json
import os
import stat as st_mode
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from vaultsync.fsutil import atomic_write, read_regular

STATE_NAME = ".last_sync"
VERSION = 2  # 2: columnar folders
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
        return {"names": names, "stat": self.stat, "blobs": self.blobs}

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


@dataclass
class State:
    head: str | None = None
    scanned_ns: int = 0
    files: dict[str, Folders] = field(default_factory=dict)
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
    touched: set[str] = field(default_factory=set)  # vault paths put or dropped this run
    roots: dict[str, str] = field(default_factory=dict)  # folder sources scanned this run
    rebuilt: bool = False
    moved: bool = False  # made to follow a HEAD that moved since it was saved: rewrite it

    def entry(self, vault_path: str) -> Entry | None:
        source, folder, name = split(vault_path)
        f = self.files.get(source, {}).get(folder)
        return f.get(name) if f is not None else None

    def put(self, vault_path: str, entry: Entry) -> None:
        source, folder, name = split(vault_path)
        folders = self.files.setdefault(source, {})
        f = folders.setdefault(folder, Folder([], [], ""))
        f.as_dict()[name] = entry
        self.touched.add(vault_path)

    def drop(self, vault_path: str) -> None:
        source, folder, name = split(vault_path)
        folders = self.files.get(source, {})
        f = folders.get(folder)
        self.touched.add(vault_path)
        if f is not None:
            f.as_dict().pop(name, None)
            if not len(f):
                del folders[folder]

    def forget_source(self, name: str) -> None:
        self.files.pop(name, None)
        for per_source in (self.dirs, self.indexes, self.unrefreshed):
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
    """The saved state, or None when it is missing or damaged in any way (truncated,
    garbage, of another version, a folder or a FIFO, numbers out of range, nesting too
    deep): a damaged state costs a rebuild, never a crash, a hang or a wrong answer."""
    data = read_regular(path_for(vault))
    if data is None:
        return None
    try:
        return _parse(json.loads(data))
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, OverflowError):
        return None


def _parse(doc: dict[str, Any]) -> State | None:
    if doc.get("version") != VERSION:
        return None
    head, scanned, config_blob = doc["head"], doc["scanned_ns"], doc.get("config_blob")
    if not (_opt_str(head) and type(scanned) is int and _opt_str(config_blob)):
        return None
    return State(
        head=head,
        scanned_ns=scanned,
        files={
            src: {folder: Folder.from_json(f) for folder, f in folders.items()}
            for src, folders in doc["files"].items()
        },
        rejected={k: _rejection(v) for k, v in doc.get("rejected", {}).items()},
        config_blob=config_blob,
        line_schemas=_line_schemas(doc.get("line_schemas", {})),
        dirs=_dirs(doc.get("dirs", {})),
        indexes=_strings(doc.get("indexes", {})),
        superseded=_strings(doc.get("superseded", {})),
        unrefreshed={k: v for k, v in doc.get("unrefreshed", {}).items() if type(v) is int},
    )


def _dirs(doc: dict[str, Any]) -> dict[str, dict[str, list[int]]]:
    for folders in doc.values():
        for key in folders.values():
            if not (isinstance(key, list) and len(key) == 3 and all(type(x) is int for x in key)):
                raise ValueError("a folder stat of the wrong shape")
    return doc


def _strings(doc: dict[str, Any]) -> dict[str, str]:
    if not all(isinstance(v, str) for v in doc.values()):
        raise ValueError("an index checksum that is not a string")
    return doc


def _line_schemas(doc: dict[str, Any]) -> dict[str, list[str]]:
    out = {vp: v for vp, v in doc.items() if isinstance(v, list) and len(v) == 2}
    if not all(isinstance(x, str) for v in out.values() for x in v):
        raise ValueError("a line schema of the wrong shape")
    return out


def _opt_str(value: object) -> bool:
    return value is None or isinstance(value, str)


def _rejection(doc: dict[str, Any]) -> Rejection:
    r = Rejection(**doc)
    if not (isinstance(r.reason, str) and _opt_str(r.blob) and isinstance(r.stat, list)):
        raise ValueError("a rejection of the wrong shape")
    return r


def save(vault: Path, state: State) -> None:
    from vaultsync import gitindex

    gitindex.update(vault, state)  # first: the state names the index it wrote
    doc = {
        "version": VERSION,
        "head": state.head,
        "scanned_ns": state.scanned_ns,
        "config_blob": state.config_blob,
        "rejected": {k: v.to_json() for k, v in sorted(state.rejected.items())},
        "line_schemas": {
            vp: v for vp, v in sorted(state.line_schemas.items()) if state.entry(vp) is not None
        },
        "dirs": {src: state.dirs[src] for src in sorted(state.dirs)},
        "indexes": dict(sorted(state.indexes.items())),
        "superseded": {
            vp: b for vp, b in sorted(state.superseded.items()) if state.entry(vp) is not None
        },
        "unrefreshed": dict(sorted(state.unrefreshed.items())),
        "files": {
            src: {folder: f.to_json() for folder, f in sorted(folders.items())}
            for src, folders in sorted(state.files.items())
        },
    }
    path = path_for(vault)
    _clear_damage(vault, path)
    atomic_write(path, json.dumps(doc, separators=(",", ":")).encode())


def _clear_damage(vault: Path, path: Path) -> None:
    """Make room for the state where something else took its name: a FIFO or a link is
    removed, a folder moved into `.vaultsync/` (it is not ours to delete)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if st_mode.S_ISREG(st.st_mode):
        return
    if st_mode.S_ISDIR(st.st_mode):
        aside = vault / ".vaultsync" / f"damaged-last_sync-{time.time_ns()}"
        aside.parent.mkdir(exist_ok=True)
        os.replace(path, aside)
    else:
        path.unlink()
