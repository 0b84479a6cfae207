"""`vaultsync status`: pending changes, rejected files, last sync, HEAD, unpushed commits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vaultsync import config, runs, summary
from vaultsync.commands.sources import one_line
from vaultsync.errors import EXIT_OK
from vaultsync.gitvault import GitVault
from vaultsync.plan import Plan, Scope, load_state, plan, selected_sources
from vaultsync.vault import Vault


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
        "last_sync": runs.load(Vault(vault).runs_path).last_run,
        "pending": {k: p.of_kind(k) for k in ("added", "modified", "deleted")},
        "rejected": [{"path": vp, "reason": r.reason} for vp, r in sorted(p.rejected.items())],
        "unavailable": p.unavailable,
        "held": p.held,
        "kept": p.kept,
        "excluded": sorted(vp for sc in p.scans for vp in sc.excluded),
        "unpushed": gv.unpushed(cfg.remote, cfg.branch) if cfg.remote else None,
        "sources": [_source(cfg, p, src.name) for src in cfg.sources],
        **operations(vault),
    }


def _source(cfg: config.Config, p: Plan, name: str) -> dict[str, Any]:
    """What the scan this status made saw of a source (no second walk of the disk)."""
    src = cfg.source(name)
    scan = next((sc for sc in p.scans if sc.source.name == name), None)
    pending = sum(c.vault_path.startswith(name + "/") for c in p.changes)
    return {
        "name": name,
        "path": src.path,
        "kind": "file" if src.is_single_file() else "folder",
        "host": src.host,
        "synced_here": scan is not None,
        "available": scan is None or scan.available,
        "unavailable_reason": scan.reason if scan and not scan.available else None,
        "files": scan.seen if scan and scan.available else None,
        "pending": pending,
    }


def operations(vault: Path) -> dict[str, Any]:
    """What the operations code knows: the health verdict, the last forgetting alarm."""
    from vaultsync.clock import utc_now
    from vaultsync.commands import health

    v = Vault(vault)
    r = runs.load(v.runs_path)
    return {
        "last_success": r.last_success,
        "last_success_age_s": health.since(r.last_success, utc_now()),
        "health": health.verdict(v),
        "last_forgot": r.last_forgot,
    }


def render_operations(doc: dict[str, Any]) -> list[str]:
    from vaultsync.commands.health import ago

    age = doc["last_success_age_s"]
    when = f" (last successful sync {ago(age)} ago)" if age is not None else ""
    lines = [f"health:    {doc['health']}{when}"]
    forgot = doc.get("last_forgot")
    if forgot:
        lost = forgot["before"] - forgot["after"]
        lines += [
            f"forgot:    {forgot['path']} lost {lost} of {forgot['before']} memories "
            f"at {forgot['time']}",
            f"  undo:    {forgot['restore']}",
        ]
    return lines


def todo(reason: str) -> str:
    """What to do about a rejected file; its last good version stays in the vault."""
    if reason.startswith("secret found"):
        return "remove the secret from the file, or leave the file out (track --exclude GLOB)"
    if reason.startswith(("permission", "cannot read")):
        return "let vaultsync read the file (check its owner and mode)"
    if "vanished" in reason or "changing" in reason:
        return "nothing: the next sync reads it again"
    return "fix the file (`vaultsync validate FILE` shows where); the next sync takes it"


def run(vault: Path, json_out: bool = False, quiet: bool = False, files: bool = False) -> int:
    doc = collect(vault)
    if json_out:
        print(json.dumps(doc, indent=2))
    elif not quiet:
        print(render(doc, files))
    return EXIT_OK


_TAKE_IT = "to back it up on purpose, add --include with its name"
_KEEP = '(deletions = "keep")'


def render(doc: dict[str, Any], files: bool = False) -> str:
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
    lines.append(f"pending:   {total:,} file(s)" if total else "pending:   nothing")
    if files or total <= summary.LIST_UP_TO:
        for kind in ("added", "modified", "deleted"):
            lines += [f"  {kind:<9}{vp}" for vp in pending[kind]]
    else:
        lines += [f"  {line}" for line in summary.by_source(pending.items())]
        lines.append(f"  {summary.files_hint(total)}")
    if doc["kept"]:
        n = len(doc["kept"])
        lines.append(f"kept:      {n} file(s) deleted on disk, kept in the vault " + _KEEP)
    lines += [f"excluded:  {vp} (a credential file: {_TAKE_IT})" for vp in doc["excluded"]]
    for r in doc["rejected"]:
        lines.append(f"rejected:  {r['path']}: {r['reason']}")
        lines.append(f"  to do:   {todo(r['reason'])}")
    lines += [f"warning:   {m}" for m in doc["unavailable"] + doc["held"]]
    lines += render_operations(doc)
    lines += ["sources:"] + [f"  {one_line(s)}" for s in doc["sources"]] if doc["sources"] else []
    return "\n".join(lines)
