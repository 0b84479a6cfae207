"""`vaultsync log`: commits newest first with the files each changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vaultsync import config, state
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
    under = vault_paths(cfg, paths)
    if gv.resolve(ref) is None:
        entries: list[dict[str, Any]] = []
    else:
        entries = gv.log(ref, under, limit)
    if rejected:
        entries = (not_kept(vault, gv, under) + entries)[:limit]
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


def not_kept(vault: Path, gv: GitVault, under: list[str]) -> list[dict[str, Any]]:
    """The rejections the last sync recorded whose content is not on the side ref (a
    file that could not be read, or one holding a secret): `status` lists them, so
    `log --rejected` does too, marked as not kept."""
    st = state.load(vault)
    if st is None or not st.rejected:
        return []
    kept = gv.tree_blobs(REJECTED_REF) if gv.resolve(REJECTED_REF) else {}
    out = []
    for vp, r in sorted(st.rejected.items(), key=lambda item: item[1].since, reverse=True):
        if r.blob is not None and kept.get(vp) == r.blob:
            continue
        if under and not any(vp == u or vp.startswith(u.rstrip("/") + "/") for u in under):
            continue
        why = "never read" if r.blob is None else "content not kept"
        out.append(
            {
                "commit": None,
                "time": r.since,
                "subject": f"vaultsync: rejected {vp} ({why}): {r.reason}",
                "files": [{"status": "R", "path": vp}],
                "kept": False,
            }
        )
    return out


def render(
    entries: list[dict[str, Any]], rejected: bool, said: dict[tuple[str, str], str] | None = None
) -> str:
    if not entries:
        return "nothing was rejected" if rejected else "no commits"
    lines = []
    said = said or {}
    for e in entries:
        commit = (e["commit"] or "not kept")[:10]
        lines.append(f"{commit:<10}  {e['time']}  {e['subject']}")
        for f in e["files"]:
            summary = said.get((e["commit"], f["path"]))
            lines.append(f"    {f['status']} {f['path']}" + (f": {summary}" if summary else ""))
    return "\n".join(lines)
