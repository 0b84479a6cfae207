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
        print(render(entries, rejected, {} if rejected else summaries(gv, entries)))
    return EXIT_OK


def summaries(gv: GitVault, entries: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """What each commit body says of each file ("+1 item in \"Preferences\""), read in
    one `git show` for the commits listed."""
    commits = [e["commit"] for e in entries if e.get("commit")]
    if not commits:
        return {}
    out = gv.run("show", "-s", "--format=%x01%H%x00%b", *commits).decode("utf-8", "replace")
    found = {}
    for chunk in out.split("\x01")[1:]:
        commit, _, body = chunk.partition("\x00")
        for line in body.splitlines():
            path, sep, said = line.partition(": ")
            if sep and "/" in path and said not in ("added", "modified", "deleted"):
                found[commit, path] = said
    return found


def render(
    entries: list[dict[str, Any]], rejected: bool, said: dict[tuple[str, str], str] | None = None
) -> str:
    if not entries:
        return "nothing was rejected" if rejected else "no commits"
    lines = []
    said = said or {}
    for e in entries:
        lines.append(f"{e['commit'][:10]}  {e['time']}  {e['subject']}")
        for f in e["files"]:
            summary = said.get((e["commit"], f["path"]))
            lines.append(f"    {f['status']} {f['path']}" + (f": {summary}" if summary else ""))
    return "\n".join(lines)
