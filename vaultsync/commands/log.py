"""`vaultsync log`: commits newest first with the files each changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vaultsync import config, state, summary
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
    under = vault_paths(cfg, paths)
    if gv.resolve(ref) is None:
        entries: list[dict[str, Any]] = []
    else:
        entries = gv.log(ref, under, limit)
    if rejected:
        entries = (not_kept(vault, gv, under) + entries)[:limit]
    if json_out:
        doc = [_json(e) for e in entries]
        print(json.dumps(doc, indent=2))
    elif not quiet:
        print(render(entries, rejected, files))
    return EXIT_OK


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
        commit = (e["commit"] or "not kept")[:10]
        lines.append(f"{commit:<10}  {e['time']}  {e['subject']}")
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
