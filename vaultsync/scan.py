"""Sources + `.last_sync` -> the files whose stat says they may have changed.

Only stat is used here: a file is read (by the sync) only when its stat differs
from the state, is racily clean, or `--full` asks for it. With a usable git index
(gitindex.py), a folder whose own stat has not moved since it was listed is not listed
again: git reports the files in it edited in place.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat as st_mode
from collections.abc import Iterator
from pathlib import Path

from vaultsync.config import Source
from vaultsync.globs import GlobSet, NameGate
from vaultsync.scanned import Candidate, Known, Listed, Named, Skipped, SourceScan
from vaultsync.state import RACY_WINDOW_NS, Entry, Folder, Folders, State, stat_key

# The stat recorded for a folder that must be listed again (it matches no folder's stat),
# so that the scan of its unchanged parent still visits it.
UNSETTLED = [-1, -1, -1]


def scan_source(
    src: Source,
    state: State,
    full: bool,
    vault: Path | None = None,
    known_dirs: Known | None = None,
) -> SourceScan:
    """`vault`: a folder never scanned (a hand-edited source that contains the vault
    would otherwise copy the vault into itself every sync). `known_dirs`: list only the
    folders whose stat moved, and take in-place edits from git (gitindex.py)."""
    result = SourceScan(src)
    root = src.root
    try:
        root_st = os.stat(root)
    except OSError as exc:
        result.available = False
        result.reason = f"{src.path}: {exc.strerror or 'not reachable'}"
        return result
    if st_mode.S_ISDIR(root_st.st_mode):
        _Walk(src, state, result, full, vault, None if full else known_dirs).run(str(root))
        return result
    known = state.files.get(src.name, {})
    if st_mode.S_ISREG(root_st.st_mode):
        if was_folder(known, root.name):
            result.available = False
            result.reason = f"{src.path}: not a folder any more (a file took its place)"
            return result
        result.single = True
        _single_file(src, state, known, result, root_st, full)
    else:
        result.available = False
        result.reason = f"{src.path}: not a file or directory"
    return result


def _single_file(
    src: Source, state: State, known: Folders, result: SourceScan, st: os.stat_result, full: bool
) -> None:
    folder = known.get("")
    entry = folder.get(src.root.name) if folder is not None else None
    result.seen = 1
    if full or _moved(entry, st, state.scanned_ns - RACY_WINDOW_NS):
        result.candidates.append(
            Candidate(f"{src.name}/{src.root.name}", stat_key(st), src, single=True)
        )


def was_folder(known: Folders, name: str) -> bool:
    """Whether the state saw this source as a folder (anything but one file of that name)."""
    return any(folder or set(f.columns().names) - {name} for folder, f in known.items())


def _moved(e: Entry | None, st: os.stat_result, cutoff: int) -> bool:
    """Whether a file must be read: new, its stat moved, or racily clean."""
    return (
        e is None
        or e.mtime_ns != st.st_mtime_ns
        or e.size != st.st_size
        or e.ctime_ns != st.st_ctime_ns
        or e.inode != st.st_ino
        or e.mtime_ns >= cutoff  # modified within a timestamp tick of the last scan
    )


class _Walk:
    """One pass over a directory source: stat every included file, compare with the state."""

    def __init__(
        self,
        src: Source,
        state: State,
        result: SourceScan,
        full: bool,
        vault: Path | None,
        fast: Known | None = None,
    ) -> None:
        self.src, self.state, self.result, self.full = src, state, result, full
        self._known: Folders | None = None
        self.fast = fast
        self.changed_in: dict[str, set[str]] = {}
        self.children: dict[str, list[str]] = {}
        if fast is not None:
            self._index_fast(fast, state)
        self.visited: set[tuple[int, int]] = set()
        if vault is not None:
            with contextlib.suppress(OSError):
                v = os.stat(vault)
                self.visited.add((v.st_dev, v.st_ino))  # never entered, like a symlink loop
        self.cutoff = state.scanned_ns - RACY_WINDOW_NS
        self.include, self.exclude = GlobSet(src.include), GlobSet(src.exclude)
        self.credentials = NameGate(src.credential_excludes())
        self.folders_seen: set[str] = set()

    def run(self, root: str) -> None:
        self.real_root = os.path.realpath(root)
        stack = [(root, "")]
        while stack:
            path, folder = stack.pop()
            stack += self._folder(path, folder)
            if not self.result.available:
                return
        prefix = self.src.name + "/"
        # Folders gone as a whole (known from `.last_sync`'s counts: no detail is read
        # unless one is gone).
        for folder in self.state.folder_names(self.src.name) - self.folders_seen:
            gone = self.known.get(folder)
            names = gone.columns().names if gone is not None else []
            self.result.deleted += [prefix + _join(folder, n) for n in names]
        self.result.deleted.sort()

    @property
    def known(self) -> Folders:
        """The source's entries, read from its detail file only when a folder needs them."""
        if self._known is None:
            self._known = self.state.files.get(self.src.name, {})
        return self._known

    def _index_fast(self, fast: Known, state: State) -> None:
        prefix = self.src.name + "/"
        paths = set(fast.changed)
        # A rejected file is looked at again, as the walk would: its rejection stands
        # only while its stat does.
        paths.update(vp[len(prefix) :] for vp in state.rejected if vp.startswith(prefix))
        # Entries dropped since the index was written (HEAD moved under the state): the
        # index still says "committed", the state no longer knows them.
        paths.update(vp[len(prefix) :] for vp in state.touched if vp.startswith(prefix))
        for rel in paths:
            folder, _, name = rel.rpartition("/")
            self.changed_in.setdefault(folder, set()).add(name)
        # Every folder recorded (settled or not: a folder holding a FIFO is recorded
        # UNSETTLED) or named in the summary's folder counts, and each one between it and
        # the root: an unmoved parent's subfolders are visited, never taken as gone. Not
        # self.known: it would load the state's detail, which a no-change sync never reads.
        below: dict[str, set[str]] = {}
        for rel in fast.dirs.keys() | self.state.folder_names(self.src.name):
            while rel:
                parent = rel.rpartition("/")[0]
                below.setdefault(parent, set()).add(rel)
                rel = parent
        self.children = {k: sorted(v) for k, v in below.items()}

    def _unchanged(self, path: str, folder: str, key: list[int]) -> list[tuple[str, str]]:
        """A folder whose stat has not moved since it was listed holds the same names:
        only the files git reports (edited in place) or that were rejected are looked at."""
        self.folders_seen.add(folder)
        base = len(folder) + 1 if folder else 0
        children = [(os.path.join(path, rel[base:]), rel) for rel in self.children.get(folder, [])]
        changed = self.changed_in.get(folder)
        if not changed:  # the common case: nothing to read, not even the source's entries
            self.result.seen += self.state.count(self.src.name, folder)
            self.result.dirs[folder] = key
            return children
        known = self.known.get(folder)
        names = set(known.columns().names) if known else set()
        rel_dir = folder + "/" if folder else ""
        for name in sorted(changed):
            full = os.path.join(path, name)
            try:
                st = os.stat(full)  # a symlink inside the source was followed when listed
            except OSError:
                names.discard(name)  # gone: a deletion, as the walk would find
                continue
            if not st_mode.S_ISREG(st.st_mode):
                names.discard(name)
                self.result.skipped.append(Skipped(Path(full), "not a regular file"))
                continue
            names.add(name)
            entry = known.get(name) if known else None
            if entry is None or _moved(entry, st, self.cutoff):
                vp = f"{self.src.name}/{rel_dir}{name}"
                self.result.candidates.append(Candidate(vp, stat_key(st), self.src))
        self.result.seen += len(names)
        gone = known.index.keys() - names if known else set()
        self.result.deleted += [f"{self.src.name}/{rel_dir}{n}" for n in gone]
        self.result.dirs[folder] = key if not gone else UNSETTLED
        return children

    def _folder(self, path: str, folder: str) -> list[tuple[str, str]]:
        """Scan one folder; returns its subfolders to visit."""
        try:
            dir_st = os.stat(path)
            if (dir_st.st_dev, dir_st.st_ino) in self.visited:
                return []  # a symlink loop
            self.visited.add((dir_st.st_dev, dir_st.st_ino))
            key = [dir_st.st_mtime_ns, dir_st.st_ctime_ns, dir_st.st_ino]
            settled = max(key[0], key[1]) < self.cutoff  # else too recent to trust: racy
            if self.fast is not None and self.fast.dirs.get(folder) == key:
                if settled:
                    return self._unchanged(path, folder, key)
                self.result.racy = True
            if self.fast is not None and self.known.get(folder) is not None:
                listed = set(os.listdir(path))  # no DirEntry per name: see _vouched
            else:
                listing = os.scandir(path)  # iterated lazily: a list of 20k entries: 60 ms
        except OSError as exc:
            # What cannot be listed is unknown, not gone: nothing below it is deleted. The
            # root: the source is unavailable; a folder below it: the rest still syncs.
            if folder and exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return []  # gone since its parent was listed: a deletion, as a listing finds
            if not folder:
                self.result.available = False
                self.result.reason = f"cannot list folder {path}: {exc.strerror}"
                return []
            self.result.unlisted.append(f"cannot list folder {path}: {exc.strerror}")
            under = folder + "/"
            names = self.state.folder_names(self.src.name)
            self.folders_seen.update(f for f in names if f == folder or f.startswith(under))
            return []
        self.folders_seen.add(folder)
        rel_dir = folder + "/" if folder else ""
        known = self.known.get(folder)
        seen: set[str] = set()
        subfolders: list[tuple[str, str]] = []
        said = len(self.result.skipped) + len(self.result.excluded)
        # With git's index (fast), a known file git does not report is the committed
        # content: it is counted without a stat, as in a folder that is not listed.
        vouched = self.changed_in.get(folder, set()) if self.fast is not None else None
        if vouched is not None and known is not None:
            seen.update(self._vouched(listed, known, vouched))
            rest = [Named(path, n) for n in sorted(listed - seen)]
            self._entries(iter(rest), rel_dir, known, seen, subfolders, vouched)
        else:
            with listing:
                self._entries(listing, rel_dir, known, seen, subfolders, vouched)
        self.result.seen += len(seen)
        prefix = f"{self.src.name}/{rel_dir}"
        index = known.index if known else {}
        gone = [prefix + n for n in index.keys() - seen]
        self.result.deleted += gone
        settled = not gone and len(self.result.skipped) + len(self.result.excluded) == said
        # Fully accounted for: nothing pending (a held deletion) and nothing to say again
        # (a FIFO, a credential file), so an unmoved stat means nothing to do. Any other
        # folder is still recorded: an unmoved parent leads the next scan into it.
        self.result.dirs[folder] = key if settled else UNSETTLED
        return subfolders

    def _vouched(self, names: set[str], known: Folder, vouched: set[str]) -> set[str]:
        """The known files of a listed folder that git vouches for: present, not reported,
        and not stored within the racy cutoff (git compares whole seconds). Set operations
        in C: a folder of 20,000 names costs a few ms, not a Python pass over each."""
        known.columns()
        quick = known.index.keys() & names
        quick -= vouched
        stat, cutoff = known.stat, self.cutoff
        if stat and max(max(stat[1::4]), max(stat[2::4])) >= cutoff:
            every = known.names
            quick.difference_update(
                every[i]
                for i, (m, c) in enumerate(zip(stat[1::4], stat[2::4], strict=True))
                if m >= cutoff or c >= cutoff
            )
        return quick

    def _entries(
        self,
        listing: Iterator[Listed],
        rel_dir: str,
        known: Folder | None,
        seen: set[str],
        subfolders: list[tuple[str, str]],
        vouched: set[str] | None = None,
    ) -> None:
        """`vouched`: the scan has git's word for every known file but these."""
        index, stat = (known.columns().index, known.stat) if known else ({}, [])
        cutoff, full = self.cutoff, self.full
        by_suffix, include, exclude = self.include.suffixes, self.include.match, self.exclude.match
        has_exclude = bool(self.exclude.patterns)
        credentials, has_credentials = self.credentials, bool(self.credentials)
        for e in listing:
            name = e.name
            st = None
            if e.is_symlink():
                st = self._follow_inside(e, rel_dir + name)
                if st is None:
                    continue
                is_dir = st_mode.S_ISDIR(st.st_mode)
            else:
                is_dir = e.is_dir(follow_symlinks=False)
            if is_dir:
                if name != ".git" and not (has_exclude and exclude(rel_dir + name + "/")):
                    subfolders.append((e.path, rel_dir + name))
                continue
            if vouched is not None and st is None and name not in vouched:
                i = index.get(name)
                # Known (so it passed the same globs), and git compared its stat (or
                # content) with the commit; but git compares whole seconds, so not for
                # a file whose stat was recent when it was read.
                if i is not None and max(stat[4 * i + 1], stat[4 * i + 2]) < cutoff:
                    seen.add(name)
                    continue
            if by_suffix is not None:
                if not name.endswith(by_suffix):
                    continue
            elif not include(rel_dir + name):
                continue
            if has_exclude and exclude(rel_dir + name):
                continue
            if has_credentials and credentials.match(name, rel_dir + name):
                self.result.excluded.append(f"{self.src.name}/{rel_dir}{name}")
                continue
            if st is None:
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue  # vanished since the listing: nothing to copy
            if not st_mode.S_ISREG(st.st_mode):
                self.result.skipped.append(
                    Skipped(Path(e.path), "not a regular file (FIFO, socket or device)")
                )
                continue
            seen.add(name)
            # The hot path of a no-change sync: the stat compared with the stored columns.
            i = index.get(name)
            if i is not None and not full:
                j = 4 * i
                mtime = stat[j + 1]
                if (
                    mtime == st.st_mtime_ns
                    and stat[j] == st.st_size
                    and stat[j + 2] == st.st_ctime_ns
                    and stat[j + 3] == st.st_ino
                    and mtime < cutoff  # else racily clean: modified within a tick of the scan
                ):
                    continue
            vp = f"{self.src.name}/{rel_dir}{name}"
            self.result.candidates.append(Candidate(vp, stat_key(st), self.src))

    def _follow_inside(self, e: Listed, rel: str) -> os.stat_result | None:
        """The target's stat for a symlink that stays inside the source, else None."""
        target = os.path.realpath(e.path)
        if target != self.real_root and not target.startswith(self.real_root + os.sep):
            if self.include.match(rel):
                self.result.skipped.append(
                    Skipped(Path(e.path), "symlink points outside the source")
                )
            return None
        try:
            return os.stat(e.path)
        except OSError as exc:
            if exc.errno == errno.ELOOP and self.include.match(rel):
                self.result.skipped.append(Skipped(Path(e.path), "symlink loop"))
            return None  # dangling


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name
