"""`vaultsync log`: commits newest first with the files each changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vaultsync import config
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
) -> int:
    cfg = config.load(vault)
    gv = GitVault(vault)
    ref = REJECTED_REF if rejected else "HEAD"
    if gv.resolve(ref) is None:
        entries: list[dict[str, Any]] = []
    else:
        entries = gv.log(ref, vault_paths(cfg, paths), limit)
    if json_out:
        doc = [{**e, "files": [f["path"] for f in e["files"]]} for e in entries]
        print(json.dumps(doc, indent=2))
    elif not quiet:
        print(render(entries, rejected))
    return EXIT_OK


def render(entries: list[dict[str, Any]], rejected: bool) -> str:
    if not entries:
        return "nothing was rejected" if rejected else "no commits"
    lines = []
    for e in entries:
        lines.append(f"{e['commit'][:10]}  {e['time']}  {e['subject']}")
        lines += [f"    {f['status']} {f['path']}" for f in e["files"]]
    return "\n".join(lines)
