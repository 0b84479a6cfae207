"""`.vaultsync/vaultsync.log`: one line per event, rotated by size."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from vaultsync.clock import iso_z, utc_now
from vaultsync.vault import Vault

if TYPE_CHECKING:
    from vaultsync.result import SyncResult

MAX_BYTES = 1 << 20
KEEP = 3
# Written by cron's shell line, the git hooks and launchd, which cannot rotate them: each
# sync does, with the same policy as its own log.
SIDE_LOGS = ("cron.log", "hook.log", "launchd.log")


def append(vault: Path, event: str, message: str) -> None:
    path = Vault(vault).log_path
    path.parent.mkdir(parents=True, exist_ok=True)
    _rotate(path)
    # One line per event: a message's own newlines would split it.
    line = f"{iso_z(utc_now())} pid={os.getpid()} {event}: {' | '.join(message.splitlines())}\n"
    with open(path, "a", encoding="utf-8", errors="backslashreplace") as f:
        f.write(line)


def _rotate(path: Path) -> None:
    try:
        if path.stat().st_size < MAX_BYTES:
            return
    except OSError:
        return
    for i in range(KEEP - 1, 0, -1):
        older = path.with_name(f"{path.name}.{i}")
        if older.exists():
            older.replace(path.with_name(f"{path.name}.{i + 1}"))
    path.replace(path.with_name(f"{path.name}.1"))


def log_result(vault: Vault, r: SyncResult) -> None:
    """The log lines of one sync (an observer of every run)."""
    if r.dry_run:
        return
    for name in SIDE_LOGS:
        _rotate(vault.state_dir / name)
    root = vault.root
    if r.failure is not None:
        append(root, "locked" if r.failure.locked else "sync-failed", r.failure.message)
        return
    counts = f"added={len(r.added)} modified={len(r.modified)} deleted={len(r.deleted)}"
    append(root, "sync", f"commit={r.commit or '-'} {counts} rejected={len(r.rejected)}")
    for rej in r.rejected:
        append(root, "rejected", f"{rej.path}: {rej.reason}")
    for msg in r.held:
        append(root, "guard", msg)
    for msg in r.unavailable:
        append(root, "unavailable", msg)
    for msg in r.unbound:
        append(root, "unbound", msg)
    if r.push.failed:
        append(root, "push-failed", f"{r.push.status}: {r.push.message}")
    for msg in r.skipped:
        append(root, "skipped", msg)
