"""`vaultsync diff`: what changed, as memories: HEAD (or --from) against disk (or --to)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vaultsync import config, schemas, secretscan, semdiff, when
from vaultsync.commands.log import vault_paths
from vaultsync.config import Config
from vaultsync.errors import EXIT_OK
from vaultsync.gitvault import GitVault
from vaultsync.reader import Unreadable, read_snapshot
from vaultsync.scan import scan_source
from vaultsync.state import State


def run(
    vault: Path,
    paths: list[str],
    since: str | None,
    until: str | None,
    json_out: bool = False,
    quiet: bool = False,
) -> int:
    cfg = config.load(vault)
    gv = GitVault(vault)
    old_rev = when.resolve(gv, since or "HEAD")
    new_rev = when.resolve(gv, until) if until else None
    scope = vault_paths(cfg, paths)
    old = gv.read_blobs(old_rev, sorted(_in_scope(gv.tree_blobs(old_rev), scope)))
    new = (
        gv.read_blobs(new_rev, sorted(_in_scope(gv.tree_blobs(new_rev), scope)))
        if new_rev
        else _on_disk(cfg, scope)
    )
    files = [
        _file_diff(cfg, vp, old.get(vp), new.get(vp))
        for vp in sorted(old.keys() | new.keys())
        if old.get(vp) != new.get(vp)
    ]
    if json_out:
        doc = {"from": old_rev, "to": new_rev, "files": files}
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    elif not quiet:
        print(render(files) if files else "no changes")
    return EXIT_OK


def _in_scope(blobs: dict[str, str], scope: list[str]) -> list[str]:
    """Memory files only (not vaultsync.toml), below any of the PATHs given."""
    return [vp for vp in blobs if "/" in vp and _under(vp, scope)]


def _under(vp: str, scope: list[str]) -> bool:
    return not scope or any(vp == s or vp.startswith(s.rstrip("/") + "/") for s in scope)


def _on_disk(cfg: Config, scope: list[str]) -> dict[str, bytes]:
    """Every tracked file on disk now (this machine's sources), read whole."""
    found: dict[str, bytes] = {}
    for src in cfg.sources:
        if not src.on_this_host(config.this_host()):
            continue
        hide = cfg.secrets_for(src) in ("block", "redact")  # the key is never printed
        for cand in scan_source(src, State(), full=True).candidates:
            if _under(cand.vault_path, scope):
                try:
                    data = read_snapshot(cand.path).data
                except Unreadable:
                    continue
                found[cand.vault_path] = secretscan.redact_all(data) if hide else data
    return found


def _file_diff(cfg: Config, vp: str, old: bytes | None, new: bytes | None) -> dict[str, Any]:
    schema = cfg.schema_for(vp)
    before = schemas.check(old, vp, schema) if old is not None else None
    after = schemas.check(new, vp, schema) if new is not None else None
    for side, checked in (("before", before), ("after", after)):
        if checked is not None and checked.problem is not None:
            return {"path": vp, "summary": f"not valid {side}: {checked.problem}", "lines": []}
    kind = next((c.schema for c in (after, before) if c is not None), schema)
    d = semdiff.diff_docs(before.doc if before else None, after.doc if after else None, kind)
    return {"path": vp, "summary": d.summary(), "lines": d.lines(), "changes": d.to_json()}


def render(files: list[dict[str, Any]]) -> str:
    out = []
    for f in files:
        out.append(f"{f['path']}: {f['summary']}")
        out += [f"  {line}" for line in f["lines"]]
    return "\n".join(out)
