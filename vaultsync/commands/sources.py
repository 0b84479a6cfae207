"""`vaultsync sources`: every source as vaultsync.toml and the disk describe it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vaultsync import config
from vaultsync.config import Source
from vaultsync.errors import EXIT_OK
from vaultsync.scan import scan_source
from vaultsync.state import State


def describe(src: Source, host: str) -> dict[str, Any]:
    """One source: its settings, and from a stat walk (the same rules a sync follows)
    how many files it holds now and when the newest of them last changed."""
    scan = scan_source(src, State(), full=True)
    newest = max((c.stat[1] for c in scan.candidates), default=None)
    return {
        "name": src.name,
        "path": src.path,
        "kind": "file" if src.is_single_file() else "folder",
        "host": src.host,
        "synced_here": src.on_this_host(host),
        "include": None if src.is_single_file() else list(src.include),
        "exclude": None if src.is_single_file() else list(src.exclude),
        "schema": src.schema if isinstance(src.schema, str) else dict(src.schema),
        # Read with a default: the field lands in Config with `deletions = "keep"`.
        "deletions": getattr(src, "deletions", "follow"),
        "available": scan.available,
        "unavailable_reason": scan.reason or None,
        "files": len(scan.candidates) if scan.available else None,
        "last_change": _iso(newest),
    }


def _iso(mtime_ns: int | None) -> str | None:
    if mtime_ns is None:
        return None
    return datetime.fromtimestamp(mtime_ns / 1e9, UTC).isoformat(timespec="seconds")


def run(vault: Path, json_out: bool = False, quiet: bool = False) -> int:
    cfg = config.load(vault)
    host = config.this_host()
    docs = [describe(src, host) for src in cfg.sources]
    if json_out:
        print(json.dumps(docs, indent=2))
    elif not quiet:
        print(render(docs) if docs else "no sources; add one with `vaultsync track PATH`")
    return EXIT_OK


def render(docs: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for d in docs:
        lines += [f"{d['name']}: {d['path']}", *_details(d), ""]
    return "\n".join(lines).rstrip()


def _details(d: dict[str, Any]) -> list[str]:
    host = d["host"] or "any"
    if not d["synced_here"]:
        host += " (not this machine: not synced here)"
    rows = [("kind", d["kind"]), ("host", host)]
    if d["kind"] == "folder":
        rows.append(("include", ", ".join(d["include"])))
        rows.append(("exclude", ", ".join(d["exclude"]) or "(none)"))
    rows += [
        ("schema", _schema(d["schema"])),
        ("deletions", d["deletions"]),
    ]
    if d["available"]:
        rows.append(("files", f"{d['files']:,}"))
        rows.append(("last change", d["last_change"] or "(no files)"))
    else:
        rows.append(("files", f"unavailable: {d['unavailable_reason']}"))
    return [f"  {k + ':':<13}{v}" for k, v in rows]


def _schema(schema: str | dict[str, str]) -> str:
    if isinstance(schema, str):
        return schema
    return ", ".join(f"{glob} = {name}" for glob, name in schema.items())


def one_line(d: dict[str, Any]) -> str:
    """A source in one line, as `status` prints it."""
    where = f"{d['name']}: {d['path']} ({d['kind']}"
    if not d["synced_here"]:
        return f"{where}, host {d['host']}: not synced on this machine)"
    if not d["available"]:
        return f"{where}): unavailable: {d['unavailable_reason']}"
    parts = [f"{d['files']:,} file{'' if d['files'] == 1 else 's'}"]
    if d.get("pending"):
        parts.append(f"{d['pending']:,} pending")
    if d.get("last_change"):
        parts.append(f"last change {d['last_change']}")
    return f"{where}, {', '.join(parts)})"
