"""What a scan finds (scan.py), and how it sees a name it listed."""

from __future__ import annotations

import os
import stat as st_mode
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from vaultsync import gitindex, statefile
from vaultsync.config import Source
from vaultsync.state import State


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file to read: its stat differs from what the state holds (or it is new).
    Slots, and its path on disk made when asked from the source's root and the vault
    path: an initial import makes 100,000 of them."""

    vault_path: str
    stat: list[int]
    source: Source
    single: bool = False  # the source is this one file

    @property
    def path(self) -> str:
        root = str(self.source.root)
        if self.single:
            return root
        return os.path.join(root, self.vault_path[len(self.source.name) + 1 :])


@dataclass
class Skipped:
    path: Path
    reason: str


@dataclass
class SourceScan:
    source: Source
    available: bool = True
    reason: str = ""
    single: bool = False  # a single-file source
    seen: int = 0  # files found on disk
    candidates: list[Candidate] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)  # credential files left out (vault paths)
    unlisted: list[str] = field(default_factory=list)  # folders below the root not listable
    # Folders whose names this scan fully accounted for, by stat: the next scan need
    # not list them while their stat stays (see gitindex.py).
    dirs: dict[str, list[int]] = field(default_factory=dict)
    racy: bool = False  # a folder listed again only because its stat was too recent


@dataclass
class Known:
    """What the last scans know of a folder source: its folders' stats when they were
    listed, and the paths git's index says may have changed since their commit."""

    dirs: dict[str, list[int]]
    changed: set[str]


class Listed(Protocol):
    """What the scan asks of a listed name: os.DirEntry, or Named."""

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> str: ...
    def is_symlink(self) -> bool: ...
    def is_dir(self, *, follow_symlinks: bool = True) -> bool: ...
    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result: ...


class Named:
    """An os.DirEntry for a name from os.listdir: one lstat, asked for only when needed
    (the few names of a listed folder git does not vouch for)."""

    __slots__ = ("name", "path", "_st")

    def __init__(self, folder: str, name: str) -> None:
        self.name, self.path = name, os.path.join(folder, name)
        self._st: os.stat_result | None = None

    def _lstat(self) -> os.stat_result:
        if self._st is None:
            self._st = os.lstat(self.path)
        return self._st

    def _is(self, test: Callable[[int], bool]) -> bool:
        try:
            return test(self._lstat().st_mode)
        except OSError:
            return False  # vanished since the listing, as DirEntry says

    def is_symlink(self) -> bool:
        return self._is(st_mode.S_ISLNK)

    def is_dir(self, *, follow_symlinks: bool = True) -> bool:
        assert not follow_symlinks
        return self._is(st_mode.S_ISDIR)

    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        assert not follow_symlinks
        return self._lstat()


def known_dirs(vault: Path, st: State, src: Source, same_config: bool) -> Known | None:
    """What lets the scan list only the folders that moved: a state that was not rebuilt,
    the same config (globs), and a git index that `.last_sync` names. Else None: the
    whole source is walked."""
    if st.rebuilt or not same_config:
        return None
    if not statefile.detail_unchanged(vault, st, src.name):
        return None  # walked: the detail is read (and checked) by the walk
    if not gitindex.usable(vault, st, src.name):
        if st.files.get(src.name):
            st.moved = True  # rewrite the state, so that the index is made again
        return None
    dirs = st.dirs.get(src.name)
    expected = st.indexes.get(src.name)
    if dirs and gitindex.still_running(src.name) and folder_moved(src.root, dirs):
        # The scan will list it, and that needs the source's detail: read it now, while
        # git's pass (started first thing) still runs: 0.09 s of 100,000 files' entries.
        # Once git has answered there is nothing to overlap: the folders are not stat'ed
        # here as well as in the scan.
        st.files.get(src.name)
    changed = gitindex.modified(vault, src.name, str(src.root), expected) if dirs else None
    if dirs and changed is None:  # git could not read it: made again with the state
        st.indexes.pop(src.name, None)
        st.moved = True
    return Known(dirs, changed) if dirs and changed is not None else None


def folder_moved(root: Path, dirs: dict[str, list[int]]) -> bool:
    """Whether a folder's stat differs from the one recorded when it was listed."""
    for folder, key in dirs.items():
        try:
            st = os.stat(os.path.join(root, folder) if folder else root)
        except OSError:
            return True
        if [st.st_mtime_ns, st.st_ctime_ns, st.st_ino] != key:
            return True
    return False
