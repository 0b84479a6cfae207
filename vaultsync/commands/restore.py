"""`vaultsync restore`: put files back as they were at WHEN, or bring back lost memories."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vaultsync import config, schemas, when
from vaultsync.commands.log import vault_paths
from vaultsync.commit import commit_plan
from vaultsync.config import Config
from vaultsync.errors import EXIT_OK, UsageError
from vaultsync.fsutil import atomic_write, vault_lock
from vaultsync.gitvault import GitVault, utc_now
from vaultsync.plan import Change, Plan
from vaultsync.reader import Unreadable, blob_id, read_snapshot
from vaultsync.state import Rejection

REDACTED_NOTE = (
    'holds [REDACTED:<kind>] where the source had secrets (secrets = "redact"): '
    "the secrets themselves were never in the vault"
)


@dataclass
class Action:
    vault_path: str
    target: Path
    kind: str  # create | overwrite | unchanged
    data: bytes
    current: bytes | None
    detail: list[str]  # a short semantic diff, or what a merge brings back

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.vault_path,
            "target": str(self.target),
            "action": self.kind,
            "detail": self.detail,
        }


@dataclass
class Request:
    at: str
    paths: list[str]
    to_dir: Path | None = None
    merge: bool = False
    conflict: str = "keep"
    dry_run: bool = False
    yes: bool = False
    wait_s: float = 0.0
    json_out: bool = False
    quiet: bool = False


def run(vault: Path, req: Request) -> int:
    cfg = config.load(vault)
    gv = GitVault(vault)
    commit = when.resolve(gv, req.at)
    wanted = select(cfg, gv, commit, req)
    blobs = gv.read_blobs(commit, wanted)
    actions = [plan_file(cfg, vp, blobs[vp], req) for vp in wanted]
    _refuse_collisions(actions)
    if req.dry_run:
        return report(actions, commit, None, req)
    if any(a.kind == "overwrite" for a in actions) and not req.yes:
        confirm(actions)
    with vault_lock(vault / ".vaultsync" / "lock", req.wait_s):
        snapshot = None if req.to_dir else snapshot_current(vault, gv, cfg, actions, req.at)
        for a in actions:
            if a.kind != "unchanged":
                a.target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                atomic_write(a.target, a.data)
    return report(actions, commit, snapshot, req)


def select(cfg: Config, gv: GitVault, commit: str, req: Request) -> list[str]:
    """Vault paths of the files to restore, as they were at `commit`."""
    names = {s.name for s in cfg.sources}
    if req.paths:
        under = vault_paths(cfg, req.paths)
        found = sorted(gv.tree_blobs(commit, under))
        if not found:
            raise UsageError(
                f"{', '.join(req.paths)}: not in the vault at {req.at!r}",
                hint="see what was there with `vaultsync log PATH`",
            )
        return found
    every = sorted(p for p in gv.tree_blobs(commit) if "/" in p)
    if req.to_dir is not None:
        return every
    untracked = sorted({p.partition("/")[0] for p in every} - names)
    if untracked:
        print(
            f"warning: not restoring {', '.join(untracked)}: no longer tracked "
            "(restore them with --to DIR)",
            file=sys.stderr,
        )
    return [p for p in every if p.partition("/")[0] in names]


def plan_file(cfg: Config, vp: str, past: bytes, req: Request) -> Action:
    target = req.to_dir / vp if req.to_dir else cfg.disk_path_of(vp)
    if target is None:
        raise UsageError(
            f"{vp}: its source is not tracked now, so it has no place on disk",
            hint="restore it with --to DIR",
        )
    current = _read_current(target)
    # secrets = "redact": the vault never held the secrets, so neither does what comes back.
    redacted = [REDACTED_NOTE] if b"[REDACTED:" in past else []
    if current is None:
        return Action(vp, target, "create", past, None, redacted)
    data, detail = (
        _merge(cfg, vp, current, past, req)
        if req.merge
        else (past, _short_diff(cfg, vp, current, past))
    )
    kind = "unchanged" if data == current else "overwrite"
    return Action(vp, target, kind, data, current, detail + redacted if kind == "overwrite" else [])


def _read_current(target: Path) -> bytes | None:
    if not target.exists():
        return None
    try:
        return read_snapshot(target).data
    except Unreadable as exc:
        raise UsageError(f"{target}: {exc}", hint="fix it, or restore with --to DIR") from None


def _short_diff(cfg: Config, vp: str, current: bytes, past: bytes) -> list[str]:
    from vaultsync import semdiff

    schema = cfg.schema_for(vp)
    now, then = schemas.check(current, vp, schema), schemas.check(past, vp, schema)
    if now.problem or then.problem:
        return ["content differs"]
    return [semdiff.diff_docs(now.doc, then.doc, then.schema).summary()]


def _merge(
    cfg: Config, vp: str, current: bytes, past: bytes, req: Request
) -> tuple[bytes, list[str]]:
    from vaultsync import memmerge, memories

    schema = cfg.schema_for(vp)
    now, then = schemas.check(current, vp, schema), schemas.check(past, vp, schema)
    for label, checked in (("now", now), ("at WHEN", then)):
        if checked.problem:
            raise UsageError(
                f"{vp}: cannot merge, the file {label} is not valid: {checked.problem}"
            )
    if not memories.mergeable(then.schema):
        raise UsageError(
            f"{vp}: --merge needs memories with an identity (records, mem0 items, an MCP "
            f"graph, an export), and this file is {then.schema}",
            hint="restore the whole file without --merge, or look at it with --to DIR",
        )
    result = memmerge.merge_docs(now.doc, then.doc, then.schema, req.conflict)
    lines = memmerge.writes_lines(result.doc, then.schema, now.lines)
    return memmerge.dumps(result.doc, lines, like=current), result.lines(req.at)


def _refuse_collisions(actions: list[Action]) -> None:
    seen: dict[Path, str] = {}
    for a in actions:
        if a.target in seen:
            raise UsageError(
                f"{seen[a.target]} and {a.vault_path} would both be restored to {a.target}",
                hint="these are the same folder on two machines: name one with PATH",
            )
        seen[a.target] = a.vault_path


def confirm(actions: list[Action]) -> None:
    n = sum(a.kind == "overwrite" for a in actions)
    if not sys.stdin.isatty():
        raise UsageError(
            f"restore would overwrite {n} file(s) and there is no terminal to ask",
            hint="run it again with --yes (see what would change with --dry-run)",
        )
    for a in actions:
        if a.kind == "overwrite":
            print(f"  overwrite {a.target}", file=sys.stderr)
    answer = input(f"Overwrite {n} file(s)? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise UsageError("restore cancelled; nothing was changed")


def snapshot_current(
    vault: Path, gv: GitVault, cfg: Config, actions: list[Action], at: str
) -> str | None:
    """Commit what is on disk now and not in the vault, before overwriting it: every
    restore can be undone with another restore."""
    overwrite = [a for a in actions if a.kind == "overwrite" and a.current is not None]
    head = gv.head()
    known = gv.read_blobs(head, [a.vault_path for a in overwrite]) if head else {}
    p = Plan(head=head)
    for a in overwrite:
        assert a.current is not None
        current = _without_secrets(cfg, a.vault_path, a.current)
        if a.vault_path in known and known[a.vault_path] == current:
            continue
        checked = schemas.check(current, a.vault_path, cfg.schema_for(a.vault_path))
        if checked.problem is None:
            kind = "modified" if a.vault_path in known else "added"
            p.changes.append(Change(a.vault_path, kind, current, [], blob_id(current)))
        else:
            p.rejected[a.vault_path] = Rejection(str(checked.problem), blob_id(current))
            p.new_rejections[a.vault_path] = current
    host = config.this_host()
    return commit_plan(vault, gv, p, host, utc_now(), subject=f"pre-restore snapshot (--at {at})")


def _without_secrets(cfg: Config, vp: str, data: bytes) -> bytes:
    """What of a source file a snapshot may commit: with secrets = "block" or "redact" a
    secret never goes into git, so it is replaced by [REDACTED:<kind>] there too."""
    from vaultsync import secretscan

    name = vp.partition("/")[0]
    src = next((s for s in cfg.sources if s.name == name), None)
    policy = cfg.secrets_for(src) if src is not None else cfg.secrets
    return secretscan.redact_all(data) if policy in ("block", "redact") else data


def report(actions: list[Action], commit: str, snapshot: str | None, req: Request) -> int:
    if req.json_out:
        doc = {
            "commit": commit,
            "dry_run": req.dry_run,
            "snapshot": snapshot,
            "files": [a.to_json() for a in actions],
        }
        print(json.dumps(doc, indent=2))
        return EXIT_OK
    if req.quiet:
        return EXIT_OK
    verb = {"create": "would create", "overwrite": "would overwrite"} if req.dry_run else {}
    for a in actions:
        print(f"{verb.get(a.kind, a.kind):<16}{a.target}")
        for line in a.detail:
            print(f"                  {line}")
    if snapshot:
        print(f"the content these replaced is in commit {snapshot[:10]} (pre-restore snapshot)")
    return EXIT_OK
