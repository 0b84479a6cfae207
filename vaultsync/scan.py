"""Sources + `.last_sync` -> the files whose stat says they may have changed.

Only stat is used here: a file is read (by the sync) only when its stat differs
from the state, is racily clean, or `--full` asks for it.
"""

from __future__ import annotations

import os
import stat as st_mode
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from vaultsync.config import Source
from vaultsync.globs import GlobSet
from vaultsync.state import State, stat_key


@dataclass(frozen=True)
class Candidate:
    """A file to read: its stat differs from what the state holds (or it is new)."""

    vault_path: str
    path: Path
    stat: list[int]
    source: Source


@dataclass
class Skipped:
    path: Path
    reason: str


@dataclass
class SourceScan:
    source: Source
    available: bool = True
    reason: str = ""
    seen: set[str] = field(default_factory=set)
    candidates: list[Candidate] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def scan_source(src: Source, state: State, tracked: list[str], full: bool) -> SourceScan:
    result = SourceScan(src)
    root = src.root
    try:
        root_st = os.stat(root)
    except OSError as exc:
        result.available = False
        result.reason = f"{src.path}: {exc.strerror or 'not reachable'}"
        return result
    if st_mode.S_ISDIR(root_st.st_mode):
        files = _walk(root, src, result)
    elif st_mode.S_ISREG(root_st.st_mode):
        files = iter([(root.name, root, root_st)])
    else:
        result.available = False
        result.reason = f"{src.path}: not a file or directory"
        return result
    prefix = src.name + "/"
    for rel, path, st in files:
        vp = prefix + rel
        result.seen.add(vp)
        key = stat_key(st)
        entry = state.files.get(vp)
        if full or entry is None or not state.is_fresh(entry, key):
            result.candidates.append(Candidate(vp, path, key, src))
    result.deleted = [vp for vp in tracked if vp not in result.seen]
    return result


def _walk(
    root: Path, src: Source, result: SourceScan
) -> Iterator[tuple[str, Path, os.stat_result]]:
    include, exclude = GlobSet(src.include), GlobSet(src.exclude)
    real_root = os.path.realpath(root)
    visited: set[tuple[int, int]] = set()
    stack = [(str(root), "")]
    while stack:
        folder, rel_dir = stack.pop()
        try:
            dir_st = os.stat(folder)
            if (dir_st.st_dev, dir_st.st_ino) in visited:
                continue  # a symlink loop
            visited.add((dir_st.st_dev, dir_st.st_ino))
            entries = list(os.scandir(folder))
        except OSError as exc:
            result.skipped.append(Skipped(Path(folder), f"cannot list folder: {exc.strerror}"))
            continue
        for e in entries:
            rel = rel_dir + e.name
            if e.is_symlink():
                target = os.path.realpath(e.path)
                if target != real_root and not target.startswith(real_root + os.sep):
                    if include.match(rel):
                        result.skipped.append(
                            Skipped(Path(e.path), "symlink points outside the source")
                        )
                    continue
            try:
                st = os.stat(e.path)  # follows symlinks inside the source
            except OSError:
                continue  # vanished or a dangling link: nothing to copy
            if st_mode.S_ISDIR(st.st_mode):
                if e.name != ".git" and not exclude.match(rel + "/"):
                    stack.append((e.path, rel + "/"))
                continue
            if not include.match(rel) or exclude.match(rel):
                continue
            if not st_mode.S_ISREG(st.st_mode):
                result.skipped.append(
                    Skipped(Path(e.path), "not a regular file (FIFO, socket or device)")
                )
                continue
            yield rel, Path(e.path), st
