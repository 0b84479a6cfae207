"""`.last_sync`: what the last sync saw of every tracked file, written atomically.

The state is a cache, never the truth: the truth is the vault's HEAD. Losing it
costs time (a rebuild hashes the sources), never data, never a spurious commit.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaultsync.fsutil import atomic_write

STATE_NAME = ".last_sync"
VERSION = 1
# A file modified this close to the scan may be modified again within the same
# timestamp tick without its stat changing (git's "racily clean" case): such an
# entry is hashed again next run. 2 s covers the coarsest common file systems.
RACY_WINDOW_NS = 2_000_000_000

# An entry: [size, mtime_ns, ctime_ns, inode, blob id]. Lists, not objects, keyed
# source -> folder ("" or "a/b") -> file name: 100,000 of them are loaded every run,
# and the scan looks each up by the name it gets from scandir, joining no strings.
Entry = list[Any]
Folders = dict[str, dict[str, Entry]]
RUNS_NAME = "runs.json"


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
    rebuilt: bool = False

    def entry(self, vault_path: str) -> Entry | None:
        source, folder, name = split(vault_path)
        return self.files.get(source, {}).get(folder, {}).get(name)

    def put(self, vault_path: str, entry: Entry) -> None:
        source, folder, name = split(vault_path)
        self.files.setdefault(source, {}).setdefault(folder, {})[name] = entry

    def drop(self, vault_path: str) -> None:
        source, folder, name = split(vault_path)
        folders = self.files.get(source, {})
        names = folders.get(folder, {})
        names.pop(name, None)
        if not names:
            folders.pop(folder, None)

    def forget_source(self, name: str) -> None:
        self.files.pop(name, None)
        prefix = name + "/"
        self.rejected = {vp: r for vp, r in self.rejected.items() if not vp.startswith(prefix)}


def split(vault_path: str) -> tuple[str, str, str]:
    """`claude/a/b/m.json` -> ("claude", "a/b", "m.json")."""
    source, _, rel = vault_path.partition("/")
    folder, _, name = rel.rpartition("/")
    return source, folder, name


@dataclass
class Runs:
    """When syncs ran: rewritten every run, unlike the state, which is rewritten only
    when what it records changed (it can be 10 MB)."""

    last_run: str | None = None
    last_success: str | None = None


def path_for(vault: Path) -> Path:
    return vault / STATE_NAME


def load(vault: Path) -> State | None:
    """The saved state, or None when it is missing, truncated or of an unknown version."""
    try:
        doc = json.loads(path_for(vault).read_bytes())
        if doc.get("version") != VERSION:
            return None
        return State(
            head=doc["head"],
            scanned_ns=int(doc["scanned_ns"]),
            files=doc["files"],
            rejected={k: Rejection(**v) for k, v in doc.get("rejected", {}).items()},
            config_blob=doc.get("config_blob"),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def save(vault: Path, state: State) -> None:
    doc = {
        "version": VERSION,
        "head": state.head,
        "scanned_ns": state.scanned_ns,
        "config_blob": state.config_blob,
        "rejected": {k: v.to_json() for k, v in sorted(state.rejected.items())},
        "files": state.files,
    }
    atomic_write(path_for(vault), json.dumps(doc, separators=(",", ":")).encode())


def load_runs(vault: Path) -> Runs:
    try:
        doc = json.loads((vault / ".vaultsync" / RUNS_NAME).read_bytes())
        return Runs(doc.get("last_run"), doc.get("last_success"))
    except (OSError, ValueError, AttributeError):
        return Runs()


def save_runs(vault: Path, runs: Runs) -> None:
    doc = {"last_run": runs.last_run, "last_success": runs.last_success}
    # Not fsynced: losing it to a power cut only makes the last sync look older.
    atomic_write(vault / ".vaultsync" / RUNS_NAME, json.dumps(doc).encode(), durable=False)
