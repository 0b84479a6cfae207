"""`vaultsync export --verify DIR`: is an export still what was written?

Every file that checksums.json lists must be there with that SHA-256, no other file may
have appeared, and the files must still read as an export: metadata.json and the
memories file parse, and each memory entry has the fields an export writes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any

from vaultsync.errors import EXIT_OK, EXIT_PARTIAL, UsageError

_FIELDS = ("source", "vault_path", "kind", "id", "content", "data")


def run(folder: Path, json_out: bool = False, quiet: bool = False) -> int:
    sums = _checksums(folder)
    problems = _checksum_problems(folder, sums) + _content_problems(folder, sums)
    if json_out:
        print(json.dumps({"export": str(folder), "files": len(sums), "problems": problems}))
    elif not quiet:
        print("\n".join(f"problem: {p}" for p in problems) or f"ok: {len(sums)} files as written")
    return EXIT_PARTIAL if problems else EXIT_OK


def _checksums(folder: Path) -> dict[str, str]:
    path = folder / "checksums.json"
    try:
        sums = json.loads(path.read_bytes())["sha256"]
    except OSError as exc:
        raise UsageError(
            f"{path}: {exc.strerror}", hint="--verify takes a folder `vaultsync export` wrote"
        ) from None
    except (ValueError, KeyError, TypeError):
        raise UsageError(f"{path}: not a vaultsync checksums file") from None
    if not isinstance(sums, dict):
        raise UsageError(f"{path}: not a vaultsync checksums file")
    return {str(k): str(v) for k, v in sums.items()}


def _checksum_problems(folder: Path, sums: dict[str, str]) -> list[str]:
    out = []
    for name, want in sorted(sums.items()):
        try:
            got = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        except OSError as exc:
            out.append(f"{name}: listed in checksums.json but unreadable ({exc.strerror})")
            continue
        if got != want:
            out.append(f"{name}: SHA-256 differs from checksums.json (changed since the export)")
    listed = {*sums, "checksums.json"}
    out += [
        f"{p.name}: not in checksums.json (added since the export)"
        for p in sorted(folder.iterdir())
        if p.name not in listed
    ]
    return out


def _content_problems(folder: Path, sums: dict[str, str]) -> list[str]:
    try:
        meta = _read_json(folder / "metadata.json")
    except ValueError as exc:
        return [f"metadata.json: {exc}"]
    if not isinstance(meta, dict):
        return ["metadata.json: not a JSON object"]
    body = {"json": "memories.json", "csv": "memories.csv", "markdown": "memories.md"}
    name = body.get(str(meta.get("format")))
    if name is None:
        return [f"metadata.json: unknown format {meta.get('format')!r}"]
    if name not in sums:
        return [f"{name}: missing from checksums.json"]
    try:
        entries = _entries(folder / name, str(meta["format"]))
    except ValueError as exc:
        return [f"{name}: {exc}"]
    count = meta.get("memories")
    if entries is not None and isinstance(count, int) and count != len(entries):
        return [f"{name}: {len(entries)} memories, metadata.json says {count}"]
    return []


def _entries(path: Path, fmt: str) -> list[Any] | None:
    """The export's memory entries (None for Markdown, which is for people)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"unreadable: {exc}") from None
    if fmt == "markdown":
        return None
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        if rows and tuple(rows[0]) != _FIELDS:
            raise ValueError(f"columns are not {', '.join(_FIELDS)}")
        return rows
    doc = _read_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("memories"), list):
        raise ValueError('not a JSON object with a "memories" list')
    bad = [i for i, e in enumerate(doc["memories"]) if not _is_entry(e)]
    if bad:
        raise ValueError(f"/memories/{bad[0]}: not a memory entry ({', '.join(_FIELDS)})")
    return list(doc["memories"])


def _is_entry(entry: Any) -> bool:
    return isinstance(entry, dict) and all(k in entry for k in _FIELDS)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ValueError(f"not readable JSON ({exc})") from None
