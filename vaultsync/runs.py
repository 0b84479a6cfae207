"""`.vaultsync/runs.json`: when syncs ran, the last that succeeded and the last error.
Written after every run, failed or not, so `health`, metrics and alerts can read how
the vault is doing without scanning anything."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaultsync.clock import iso_z
from vaultsync.fsutil import atomic_write, read_json_object

if TYPE_CHECKING:
    from vaultsync.result import SyncResult
    from vaultsync.vault import Vault


@dataclass
class Runs:
    last_run: str | None = None
    last_success: str | None = None  # last run that exited 0 (or 1: done in part, committed)
    last_exit: int | None = None
    last_commit: str | None = None
    last_error: dict[str, Any] | None = None  # {"time", "message", "exit_code"}
    failing_since: str | None = None  # first run of the current failure streak
    # The last forgetting alarm: {"time", "path", "before", "after", "previous", "restore"}
    last_forgot: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load(path: Path) -> Runs:
    doc = read_json_object(path)
    known = Runs.__dataclass_fields__
    try:
        return Runs(**{k: v for k, v in doc.items() if k in known})
    except TypeError:
        return Runs()


def record(vault: Vault, result: SyncResult) -> None:
    """Fold one run into runs.json (an observer of every sync)."""
    if result.dry_run or result.locked:
        return  # a dry run changes nothing; a locked run found another one working
    runs = load(vault.runs_path)
    stamp = iso_z(result.started)
    runs.last_run = stamp
    runs.last_exit = result.exit_code
    if result.commit:
        runs.last_commit = result.commit
    for f in result.forgotten:
        runs.last_forgot = {"time": stamp, **f.to_json()}
    if result.failure is None:
        # Committed what could be: the backup is current for everything accepted.
        runs.last_success = stamp
    if result.failure is not None or result.push.failed:
        message = result.failure.message if result.failure else result.push.message
        runs.last_error = {"time": stamp, "message": message, "exit_code": result.exit_code}
        runs.failing_since = runs.failing_since or stamp
    else:
        runs.failing_since = None
    # Not fsynced: losing it to a power cut only makes the last sync look older.
    atomic_write(vault.runs_path, json.dumps(runs.to_json()).encode(), durable=False)
