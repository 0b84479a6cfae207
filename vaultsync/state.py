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

# An entry: [size, mtime_ns, ctime_ns, inode, blob id]. Lists, not objects:
# 100,000 of them are loaded on every run.
Entry = list[Any]


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
    files: dict[str, Entry] = field(default_factory=dict)
    rejected: dict[str, Rejection] = field(default_factory=dict)
    last_run: str | None = None
    last_success: str | None = None
    config_blob: str | None = None
    rebuilt: bool = False

    def is_fresh(self, entry: Entry, stat: list[int]) -> bool:
        """True when `stat` proves the file still holds `entry`'s blob."""
        return entry[:4] == stat and entry[1] < self.scanned_ns - RACY_WINDOW_NS

    def by_source(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for vp in self.files:
            groups.setdefault(vp.partition("/")[0], []).append(vp)
        return groups


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
            last_run=doc.get("last_run"),
            last_success=doc.get("last_success"),
            config_blob=doc.get("config_blob"),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def save(vault: Path, state: State) -> None:
    doc = {
        "version": VERSION,
        "head": state.head,
        "scanned_ns": state.scanned_ns,
        "last_run": state.last_run,
        "last_success": state.last_success,
        "config_blob": state.config_blob,
        "rejected": {k: v.to_json() for k, v in sorted(state.rejected.items())},
        "files": state.files,
    }
    atomic_write(path_for(vault), json.dumps(doc, separators=(",", ":")).encode())
