"""`vaultsync log`: commits newest first with the files each changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vaultsync import config, summary
from vaultsync.errors import EXIT_OK
from vaultsync.gitvault import REJECTED_REF, GitVault


def vault_paths(cfg: config.Config, given: list[str]) -> list[str]:
    """PATHs as the user gave them (a source path on disk, a vault path, a folder)
    -> vault paths."""
    out = []
    for text in given:
        disk = Path(text).expanduser()
        vp = cfg.vault_path_of(disk) if (disk.is_absolute() or disk.exists()) else None
        out.append(vp or text.strip("/"))
    return out


def run(
    vault: Path,
    paths: list[str],
    limit: int | None,
    rejected: bool,
    json_out: bool = False,
    quiet: bool = False,
    files: bool = False,
) -> int:
    cfg = config.load(vault)
    gv = GitVault(vault)
    ref = REJECTED_REF if rejected else "HEAD"
    if gv.resolve(ref) is None:
        entries: list[dict[str, Any]] = []
    else:
        entries = gv.log(ref, vault_paths(cfg, paths), limit)
    if json_out:
        doc = [_json(e) for e in entries]
        print(json.dumps(doc, indent=2))
    elif not quiet:
        print(render(entries, rejected, files))
    return EXIT_OK


def _json(e: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in e.items() if k != "body"}
    return {**out, "files": [f["path"] for f in e["files"]], "summaries": summaries(e)}


def summaries(e: dict[str, Any]) -> dict[str, str]:
    """What the commit body says of each file beyond its kind: '+3 entities, -43 entities'."""
    paths = {f["path"] for f in e["files"]}
    out = {}
    for line in e.get("body", "").splitlines():
        path, sep, said = line.partition(": ")
        if sep and path in paths and said not in ("added", "modified", "deleted"):
            out[path] = said
    return out


KINDS = {"A": "added", "M": "modified", "D": "deleted", "R": "rejected"}


def render(entries: list[dict[str, Any]], rejected: bool, files: bool = False) -> str:
    if not entries:
        return "nothing was rejected" if rejected else "no commits"
    lines = []
    for e in entries:
        lines.append(f"{e['commit'][:10]}  {e['time']}  {e['subject']}")
        lines += _files(e, files)
    return "\n".join(lines)


def _files(e: dict[str, Any], every: bool) -> list[str]:
    said = summaries(e)
    changed = e["files"]
    if every or len(changed) <= summary.LIST_UP_TO:
        return [_file_line(f, said) for f in changed]
    kinds: dict[str, list[str]] = {}
    for f in changed:
        kinds.setdefault(KINDS.get(f["status"][:1], f["status"]), []).append(f["path"])
    out = [f"    {line}" for line in summary.by_source(kinds.items())]
    out += [_file_line(f, said) for f in changed if f["path"] in said][: summary.LIST_UP_TO]
    return out + [f"    {summary.files_hint(len(changed))}"]


def _file_line(f: dict[str, str], said: dict[str, str]) -> str:
    detail = f": {said[f['path']]}" if f["path"] in said else ""
    return f"    {f['status']} {f['path']}{detail}"
