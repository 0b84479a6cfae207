"""`.last_sync` on disk: a small summary at the vault root, and per source a detail file
under `.vaultsync/state/` with what the last sync saw of each of its files.

The summary names each detail file with the SHA-1 of its bytes, and is written last, so
a crash between the two leaves a summary that names the old detail: that source's
detail is then not trusted. Whatever part is missing or damaged (truncated, garbage, a
folder or a FIFO, of another version, out of step) loads as nothing for its part:
losing the summary is a rebuild, losing a detail file is a rebuild of that source (its
git index and folder stats are dropped with it). Either costs time, never data, never a
spurious commit or an inferred deletion (plan.load_state). Version 2 files (one
document with every entry) are still read, and saved as version 3.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat as st_mode
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vaultsync.fsutil import atomic_write, read_regular
from vaultsync.state import (
    VERSION,
    Detail,
    Files,
    Folder,
    Folders,
    Rejection,
    State,
    path_for,
)

DETAIL_DIR = Path(".vaultsync") / "state"
DAMAGE = (ValueError, KeyError, TypeError, AttributeError, RecursionError, OverflowError)


def detail_path(vault: Path, source: str) -> Path:
    return vault / DETAIL_DIR / f"{source}.json"


def load(vault: Path) -> State | None:
    """The saved state, or None when `.last_sync` is missing or damaged in any way
    (truncated, garbage, of another version, a folder or a FIFO, numbers out of range,
    nesting too deep): a damaged state costs a rebuild, never a crash, a hang or a wrong
    answer. Detail files are read later, when a source's entries are first needed."""
    data = read_regular(path_for(vault))
    if data is None:
        return None
    try:
        doc = json.loads(data)
        if doc.get("version") == 2:
            return _parse_v2(doc)
        return _parse(doc, vault)
    except DAMAGE:
        return None


def _common(doc: dict[str, Any]) -> State | None:
    head, scanned, config_blob = doc["head"], doc["scanned_ns"], doc.get("config_blob")
    if not (_opt_str(head) and type(scanned) is int and _opt_str(config_blob)):
        return None
    return State(
        head=head,
        scanned_ns=scanned,
        rejected={k: _rejection(v) for k, v in doc.get("rejected", {}).items()},
        config_blob=config_blob,
        line_schemas=_line_schemas(doc.get("line_schemas", {})),
        dirs=_dirs(doc.get("dirs", {})),
        indexes=_strings(doc.get("indexes", {})),
        superseded=_strings(doc.get("superseded", {})),
        unrefreshed={k: v for k, v in doc.get("unrefreshed", {}).items() if type(v) is int},
        index_roots={k: v for k, v in doc.get("index_roots", {}).items() if isinstance(v, str)},
    )


def _parse_v2(doc: dict[str, Any]) -> State | None:
    """A version 2 state: every entry in `.last_sync` itself. Upgraded when saved."""
    st = _common(doc)
    if st is None:
        return None
    st.files = Files(
        {
            src: {folder: Folder.from_json(f) for folder, f in folders.items()}
            for src, folders in doc["files"].items()
        }
    )
    st.files.on_lost = st._lost
    st.moved = True  # rewritten as version 3 by the next save
    return st


def _parse(doc: dict[str, Any], vault: Path) -> State | None:
    if doc.get("version") != VERSION:
        return None
    st = _common(doc)
    if st is None:
        return None
    for source, ref in doc["sources"].items():
        counts = ref["counts"]
        if not all(type(n) is int for n in counts.values()):
            raise ValueError("a folder count that is not an integer")
        st.details[source] = _reference(ref["detail"])
        st.counts[source] = counts
        if "journal" in ref:
            st.journals[source] = _reference(ref["journal"])
        st.files.pending[source] = _loader(vault, source, st)
    return st


def _reference(value: Any) -> Detail:
    """A detail or journal file as the summary names it: [sha1, size, mtime_ns, inode]."""
    sha1, size, mtime_ns, inode = value
    ref = Detail(sha1, size, mtime_ns, inode)
    if not (isinstance(sha1, str) and all(type(x) is int for x in ref[1:])):
        raise ValueError("a file reference of the wrong shape")
    return ref


def _loader(vault: Path, source: str, st: State) -> Any:
    def load() -> Folders | None:
        folders = read_detail(vault, source, st.details[source])
        journal = st.journals.get(source)
        if folders is None or journal is None:
            return folders
        from vaultsync import statejournal

        rows = statejournal.read(vault, source, st.details[source], journal)
        if rows is None:
            return None  # the whole source is then rebuilt, as for a damaged detail
        statejournal.replay(folders, rows)
        st.journal_rows[source] = rows
        return folders

    return load


def read_detail(vault: Path, source: str, detail: Detail) -> Folders | None:
    """A source's folders from its detail file, or None when the file is not the one
    `.last_sync` names (missing, damaged, replaced, of another version)."""
    data = read_regular(detail_path(vault, source))
    if data is None or hashlib.sha1(data).hexdigest() != detail.sha1:
        return None
    try:
        doc = json.loads(data)
        if doc.get("version") != VERSION or doc.get("source") != source:
            return None
        return {folder: Folder.from_json(f) for folder, f in doc["folders"].items()}
    except DAMAGE:
        return None


def detail_unchanged(vault: Path, st: State, source: str) -> bool:
    """Whether the detail file on disk still has the stat it was written with: checked
    before the scan trusts the folder stats and the git index that go with it."""
    detail = st.details.get(source)
    if detail is None:
        return st.files.is_loaded(source)  # a version 2 state, or entries made this run
    named = [(detail_path(vault, source), detail)]
    if source in st.journals:
        from vaultsync.statejournal import path_of

        named.append((path_of(vault, source), st.journals[source]))
    for path, record in named:
        try:
            s = os.lstat(path)
        except OSError:
            return False
        if not (
            st_mode.S_ISREG(s.st_mode) and [s.st_size, s.st_mtime_ns, s.st_ino] == list(record[1:])
        ):
            return False
    return True


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


def save_details(vault: Path, state: State) -> None:
    """The parts `.last_sync` names, each written where it changed: the git indexes and
    the detail files. Until `save` writes the summary that names them, a crash leaves
    the old summary, which names the old ones: the new are then not trusted (a rebuild).
    So this may run before the commit is known to have landed (beside git's work)."""
    from vaultsync import gitindex, statejournal

    # The indexes first: the state names the ones written. git writes them while the
    # detail files are written here.
    indexes_written = gitindex.start_update(vault, state)
    try:
        files = state.files
        for source in files:  # in order; a source not loaded keeps its detail as it is
            if files.is_loaded(source):
                folders = files[source]
                if source in files.changed or source not in state.details:
                    if not statejournal.write(vault, state, source):
                        state.details[source] = _write_detail(vault, source, folders)
                        statejournal.drop(vault, state, source)
                    files.changed.discard(source)
                    files.replaced.discard(source)
                state.counts[source] = {f: len(entries) for f, entries in sorted(folders.items())}
    finally:
        # The refreshes git now runs (a first import's: the sources hashed again) are
        # waited for by `save`, beside the vault's own index.
        state.sealing = indexes_written()
    state.touched.clear()


def _seal(state: State) -> None:
    """Wait for the index refreshes save_details started; their checksums go in."""
    sealing, state.sealing = state.sealing, None
    if sealing is not None:
        sealing()


def save(vault: Path, state: State) -> None:
    from vaultsync import statejournal

    _seal(state)  # first: an index still being refreshed would look unusable
    save_details(vault, state)  # what save_details already wrote is not written again
    _seal(state)
    files = state.files
    sources: dict[str, Any] = {}
    for source in files:
        sources[source] = {"detail": list(state.details[source]), "counts": state.counts[source]}
        if source in state.journals:
            sources[source]["journal"] = list(state.journals[source])
    for source in files.changed - set(sources):  # forgotten: its detail goes with it
        state.details.pop(source, None)
        with contextlib.suppress(OSError):
            detail_path(vault, source).unlink()
        statejournal.drop(vault, state, source)
    doc = {
        "version": VERSION,
        "head": state.head,
        "scanned_ns": state.scanned_ns,
        "config_blob": state.config_blob,
        "rejected": {k: v.to_json() for k, v in sorted(state.rejected.items())},
        "line_schemas": _known_only(state, state.line_schemas),
        "dirs": {src: state.dirs[src] for src in sorted(state.dirs)},
        "indexes": dict(sorted(state.indexes.items())),
        # Where each indexed source was scanned: gitindex.prefetch starts git from this.
        "index_roots": {
            src: root for src in sorted(state.indexes) if (root := _root(state, src)) is not None
        },
        "superseded": _known_only(state, state.superseded),
        "unrefreshed": dict(sorted(state.unrefreshed.items())),
        "sources": sources,
    }
    path = path_for(vault)
    clear_damage(vault, path)
    atomic_write(path, json.dumps(doc, separators=(",", ":")).encode())
    files.changed.clear()


def _root(state: State, source: str) -> str | None:
    return state.roots.get(source) or state.index_roots.get(source)


def _known_only(state: State, by_path: dict[str, Any]) -> dict[str, Any]:
    """Entries of paths the state still lists (a source whose detail was not read this
    run keeps them all: nothing of it was dropped)."""
    return {
        vp: v
        for vp, v in sorted(by_path.items())
        if not state.files.is_loaded(vp.partition("/")[0]) or state.entry(vp) is not None
    }


def _write_detail(vault: Path, source: str, folders: Folders) -> Detail:
    sha1 = hashlib.sha1()
    path = detail_path(vault, source)
    path.parent.mkdir(parents=True, exist_ok=True)
    clear_damage(vault, path)
    atomic_write(path, _detail_chunks(source, folders, sha1))
    s = os.lstat(path)
    return Detail(sha1.hexdigest(), s.st_size, s.st_mtime_ns, s.st_ino)


def _detail_chunks(source: str, folders: Folders, sha1: Any) -> Iterator[bytes]:
    """The detail document, byte for byte `json.dumps({"version", "source", "folders"})`
    with compact separators, a folder at a time (hashed as it goes): a 100,000-file
    source is never one 11 MB str and its 11 MB encoding at once."""
    dumps = json.JSONEncoder(separators=(",", ":")).encode

    def parts() -> Iterator[str]:
        yield f'{{"version":{dumps(VERSION)},"source":{dumps(source)},"folders":{{'
        for i, (folder, f) in enumerate(sorted(folders.items())):
            yield ("," if i else "") + dumps(folder) + ":"
            yield dumps(f.to_json())
        yield "}}"

    for part in parts():
        chunk = part.encode()
        sha1.update(chunk)
        yield chunk


def clear_damage(vault: Path, path: Path) -> None:
    """Make room for a state file where something else took its name: a FIFO or a link
    is removed, a folder moved into `.vaultsync/` (it is not ours to delete)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if st_mode.S_ISREG(st.st_mode):
        return
    if st_mode.S_ISDIR(st.st_mode):
        aside = vault / ".vaultsync" / f"damaged-{path.name.lstrip('.')}-{time.time_ns()}"
        aside.parent.mkdir(exist_ok=True)
        os.replace(path, aside)
    else:
        path.unlink()
