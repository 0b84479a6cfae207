"""A source's journal: the entries it changed since its detail file was written, so a
sync that changes 100 files of a 20,000-file source writes ~10 KB, not the 2.2 MB detail
again (bench (b): five such sources, 0.08 s of every 100-changed sync).

`.last_sync` names the journal by the SHA-1 of its bytes, as it names the detail file,
and the journal names the detail it follows ("base"). Whatever does not match loads as
nothing for that source, which is then rebuilt (statefile.py): as for a damaged detail,
it costs time, never data, never a spurious commit or an inferred deletion. Only a big
source keeps one (JOURNAL_FROM entries); the detail is written whole again, and the
journal dropped, once it holds a tenth of the source's entries, or when the source's
entries were replaced or lost as a whole this run (not changed entry by entry)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from vaultsync import statefile
from vaultsync.fsutil import atomic_write, read_regular
from vaultsync.state import BLOB_LEN, VERSION, Detail, Entry, Folder, Folders, State

JOURNAL_FROM = 5000  # entries a source holds before it keeps a journal
JOURNAL_SHARE = 10  # the detail is written whole once the journal holds 1/10 of them
_DAMAGE = statefile.DAMAGE


def path_of(vault: Path, source: str) -> Path:
    """The entries a source changed since its detail file was written (never a detail
    file's name: those end in .json)."""
    return vault / statefile.DETAIL_DIR / f"{source}.log"


def read(vault: Path, source: str, detail: Detail, journal: Detail) -> dict[str, list[Any]] | None:
    """The journal's rows by path in the source, or None when it is not the one
    `.last_sync` names, or not of that detail file."""
    data = read_regular(path_of(vault, source))
    if data is None or hashlib.sha1(data).hexdigest() != journal.sha1:
        return None
    try:
        doc = json.loads(data)
        if (doc.get("version"), doc.get("source"), doc.get("base")) != (
            VERSION,
            source,
            detail.sha1,
        ):
            return None
        rows: dict[str, list[Any]] = {}
        for row in doc["rows"]:
            if not _well_formed(row):
                raise ValueError("a journal row of the wrong shape")
            rows[row[0]] = row
        return rows
    except _DAMAGE:
        return None


def _well_formed(row: Any) -> bool:
    """[path] (a drop) or [path, size, mtime_ns, ctime_ns, inode, blob] (a put)."""
    if not (isinstance(row, list) and row and isinstance(row[0], str)):
        return False
    if len(row) == 1:
        return True
    blob = row[5] if len(row) == 6 else None
    return all(type(x) is int for x in row[1:5]) and isinstance(blob, str) and len(blob) == BLOB_LEN


def replay(folders: Folders, rows: dict[str, list[Any]]) -> None:
    """The journal's changes onto the detail's folders: [path, size, mtime_ns, ctime_ns,
    inode, blob] puts an entry, [path] drops one."""
    puts: dict[str, dict[str, Entry]] = {}
    for rel, row in rows.items():
        folder, _, name = rel.rpartition("/")
        if len(row) == 1:
            puts.get(folder, {}).pop(name, None)
            f = folders.get(folder)
            if f is not None:
                f.as_dict().pop(name, None)
                if not len(f):
                    del folders[folder]
        else:
            puts.setdefault(folder, {})[name] = Entry(*row[1:])
    for folder, entries in puts.items():
        folders.setdefault(folder, Folder([], [], "")).set_many(entries)


def write(vault: Path, state: State, source: str) -> bool:
    """The entries this run changed, added to the source's journal instead of writing its
    whole detail file again (100 changed of 20,000: ~10 KB, not 2.2 MB). Only for a
    source whose detail file this run read and whose entries changed one by one; the
    detail is written whole again once the journal holds a tenth of its entries."""
    files = state.files
    if source not in state.details or source in files.replaced or source in files.lost:
        return False
    prefix = source + "/"
    rows = dict(state.journal_rows.get(source, {}))
    for vp in sorted(state.touched):
        if vp.startswith(prefix):
            entry = state.entry(vp)
            rel = vp[len(prefix) :]
            rows[rel] = [rel] if entry is None else [rel, *entry]
    entries = sum(len(f) for f in files[source].values())
    if entries < JOURNAL_FROM or len(rows) > entries // JOURNAL_SHARE:
        return False
    doc = {"version": VERSION, "source": source, "base": state.details[source].sha1}
    head = json.dumps(doc, separators=(",", ":"))[:-1]
    data = f'{head},"rows":{json.dumps(list(rows.values()), separators=(",", ":"))}}}'.encode()
    path = path_of(vault, source)
    statefile.clear_damage(vault, path)
    atomic_write(path, data)
    s = os.lstat(path)
    state.journals[source] = Detail(
        hashlib.sha1(data).hexdigest(), s.st_size, s.st_mtime_ns, s.st_ino
    )
    state.journal_rows[source] = rows
    return True


def drop(vault: Path, state: State, source: str) -> None:
    """The detail file was written whole: the journal of the old one goes (once the
    summary no longer names it, it would only be ignored)."""
    state.journal_rows.pop(source, None)
    state.journals.pop(source, None)
    with contextlib.suppress(OSError):
        path_of(vault, source).unlink()
