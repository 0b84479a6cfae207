"""`vaultsync status`: pending changes, rejected files, last sync, HEAD, unpushed commits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vaultsync import config, state
from vaultsync.errors import EXIT_OK
from vaultsync.gitvault import GitVault
from vaultsync.plan import Scope, load_state, plan, selected_sources


def collect(vault: Path) -> dict[str, Any]:
    cfg = config.load(vault)
    sources = selected_sources(cfg, (), config.this_host())
    gv = GitVault(vault)
    head = gv.head()
    st = load_state(vault, gv, head)
    p = plan(vault, cfg, sources, gv, st, Scope())
    return {
        "vault": str(vault),
        "head": head,
        "last_sync": state.load_runs(vault).last_run,
        "pending": {k: p.of_kind(k) for k in ("added", "modified", "deleted")},
        "rejected": [{"path": vp, "reason": r.reason} for vp, r in sorted(p.rejected.items())],
        "unavailable": p.unavailable,
        "held": p.held,
        "kept": p.kept,
        "excluded": sorted(vp for sc in p.scans for vp in sc.excluded),
        "unpushed": gv.unpushed(cfg.remote, cfg.branch) if cfg.remote else None,
    }


def run(vault: Path, json_out: bool = False, quiet: bool = False) -> int:
    doc = collect(vault)
    if json_out:
        print(json.dumps(doc, indent=2))
    elif not quiet:
        print(render(doc))
    return EXIT_OK


_TAKE_IT = "to back it up on purpose, add --include with its name"
_KEEP = '(deletions = "keep")'


def render(doc: dict[str, Any]) -> str:
    head = (doc["head"] or "(no commits)")[:10]
    lines = [
        f"vault:     {doc['vault']}",
        f"HEAD:      {head}",
        f"last sync: {doc['last_sync'] or 'never'}",
    ]
    if doc["unpushed"] is not None:
        lines.append(f"unpushed:  {doc['unpushed']} commit(s)")
    pending = doc["pending"]
    total = sum(len(v) for v in pending.values())
    lines.append(f"pending:   {total} file(s)" if total else "pending:   nothing")
    for kind in ("added", "modified", "deleted"):
        lines += [f"  {kind:<9}{vp}" for vp in pending[kind]]
    if doc["kept"]:
        n = len(doc["kept"])
        lines.append(f"kept:      {n} file(s) deleted on disk, kept in the vault " + _KEEP)
    lines += [f"excluded:  {vp} (a credential file: {_TAKE_IT})" for vp in doc["excluded"]]
    for r in doc["rejected"]:
        lines.append(f"rejected:  {r['path']}: {r['reason']}")
    lines += [f"warning:   {m}" for m in doc["unavailable"] + doc["held"]]
    return "\n".join(lines)
