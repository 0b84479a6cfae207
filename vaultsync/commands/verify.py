"""`vaultsync verify`: git fsck, every file in HEAD valid, sources equal to HEAD or
pending/rejected, the state consistent with HEAD. Exit 1 when anything is wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vaultsync import config, schemas, state
from vaultsync.errors import EXIT_OK, EXIT_PARTIAL, GitError
from vaultsync.gitvault import GitVault
from vaultsync.plan import Scope, plan, selected_sources
from vaultsync.state import State


def run(vault: Path, json_out: bool = False, quiet: bool = False) -> int:
    cfg = config.load(vault)
    gv = GitVault(vault)
    head = gv.head()
    problems: list[str] = []
    problems += _fsck(gv)
    doc: dict[str, Any] = {
        "head": head,
        "problems": problems,
        "pending": {},
        "rejected": [],
        "unavailable": [],
    }
    try:
        blobs = gv.tree_blobs(head) if head else {}
        problems += _invalid_in_head(cfg, gv, head, blobs)
        sources = selected_sources(cfg, (), config.this_host())
        problems += _kind_problems(sources)
        # A fresh state: every file is hashed and compared with HEAD itself, not a cache.
        p = plan(vault, cfg, sources, gv, State(head=head, rebuilt=True), Scope())
        problems += _state_problems(vault, gv, head, blobs)
    except GitError as exc:
        problems.append(f"cannot read the vault: {exc.stderr.strip().splitlines()[-1]}")
        blobs = {}
    else:
        doc["pending"] = {k: p.of_kind(k) for k in ("added", "modified", "deleted")}
        doc["rejected"] = [{"path": vp, "reason": r.reason} for vp, r in sorted(p.rejected.items())]
        doc["unavailable"] = p.unavailable
    if json_out:
        print(json.dumps(doc, indent=2))
    elif not quiet:
        print(render(doc, len(blobs)))
    return EXIT_PARTIAL if problems else EXIT_OK


def _fsck(gv: GitVault) -> list[str]:
    return [f"git fsck: {line}" for line in gv.fsck()]


def _kind_problems(sources: list[config.Source]) -> list[str]:
    """A source tracked as a file whose path is a folder now (or the reverse)."""
    out = []
    for src in sources:
        if src.kind is None or not src.root.exists():
            continue
        now = "dir" if src.root.is_dir() else "file"
        if now != src.kind:
            was, found = ("a file", "a folder") if now == "dir" else ("a folder", "a file")
            out.append(f"source {src.name!r}: {src.path} is {found}, but it was tracked as {was}")
    return out


def _invalid_in_head(
    cfg: config.Config, gv: GitVault, head: str | None, blobs: dict[str, str]
) -> list[str]:
    if head is None:
        return []
    paths = [vp for vp in blobs if "/" in vp]
    content = gv.read_blobs(head, paths)
    out = []
    for vp in paths:
        checked = schemas.check(content[vp], vp, cfg.schema_for(vp), vault_root=gv.root)
        if checked.problem is not None:
            out.append(f"{vp}: invalid in HEAD: {checked.problem}")
    return out


def _state_problems(
    vault: Path, gv: GitVault, head: str | None, blobs: dict[str, str]
) -> list[str]:
    st = state.load(vault)
    if st is None or st.head != head:
        return []  # missing or older than HEAD: the next sync rebuilds or refreshes it
    wrong = [vp for vp in _state_paths(st) if (e := st.entry(vp)) and blobs.get(vp) != e.blob]
    return (
        [f".last_sync disagrees with HEAD on {len(wrong)} file(s), e.g. {wrong[0]}"]
        if wrong
        else []
    )


def _state_paths(st: State) -> list[str]:
    return [
        f"{src}/{folder + '/' if folder else ''}{name}"
        for src, folders in st.files.items()
        for folder, f in folders.items()
        for name in f.columns().names
    ]


def render(doc: dict[str, Any], files: int) -> str:
    lines = [f"HEAD {str(doc['head'])[:10]}: {files} files"]
    pending = sum(len(v) for v in doc["pending"].values()) if doc["pending"] else 0
    lines.append(f"pending: {pending} file(s) not yet synced" if pending else "pending: nothing")
    lines += [f"rejected: {r['path']}: {r['reason']}" for r in doc["rejected"]]
    lines += [f"warning: {m}" for m in doc["unavailable"]]
    lines += [f"problem: {m}" for m in doc["problems"]] or ["ok: no problems found"]
    return "\n".join(lines)
