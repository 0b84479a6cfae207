"""`.vaultsync/vaultsync.log`: one line per event, rotated by size."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from vaultsync.gitvault import iso_z, utc_now

if TYPE_CHECKING:
    from vaultsync.plan import Plan

MAX_BYTES = 1 << 20
KEEP = 3


def log_path(vault: Path) -> Path:
    return vault / ".vaultsync" / "vaultsync.log"


def append(vault: Path, event: str, message: str) -> None:
    path = log_path(vault)
    path.parent.mkdir(parents=True, exist_ok=True)
    _rotate(path)
    line = f"{iso_z(utc_now())} pid={os.getpid()} {event}: {message}\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)


def _rotate(path: Path) -> None:
    try:
        if path.stat().st_size < MAX_BYTES:
            return
    except FileNotFoundError:
        return
    for i in range(KEEP - 1, 0, -1):
        older = path.with_name(f"{path.name}.{i}")
        if older.exists():
            older.replace(path.with_name(f"{path.name}.{i + 1}"))
    path.replace(path.with_name(f"{path.name}.1"))


def log_sync(vault: Path, p: Plan, commit: str | None) -> None:
    counts = " ".join(f"{k}={len(p.of_kind(k))}" for k in ("added", "modified", "deleted"))
    append(vault, "sync", f"commit={commit or '-'} {counts} rejected={len(p.rejected)}")
    for vp, r in sorted(p.rejected.items()):
        append(vault, "rejected", f"{vp}: {r.reason}")
    for msg in p.held:
        append(vault, "guard", msg)
    for msg in p.unavailable:
        append(vault, "unavailable", msg)
    if p.push_error:
        append(vault, "push-failed", p.push_error)
    for msg in p.skipped:
        append(vault, "skipped", msg)
