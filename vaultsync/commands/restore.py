"""`vaultsync restore`: put files back as they were at WHEN, or bring back lost memories."""

from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from vaultsync import config, schemas, summary, when
from vaultsync.commands.log import vault_paths
from vaultsync.commands.restorewrite import clean_leftovers, write_all, write_path
from vaultsync.commit import commit_plan
from vaultsync.config import Config
from vaultsync.errors import EXIT_OK, EXIT_PARTIAL, UsageError, from_os_error
from vaultsync.fsutil import atomic_write, not_a_folder, vault_lock
from vaultsync.gitvault import GitVault, utc_now
from vaultsync.plan import Change, Plan, secret_findings
from vaultsync.reader import Snapshot, Unreadable, blob_id, read_snapshot
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
    seen: list[int] | None = None  # the target's stat when `current` was read

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
    files: bool = False  # list every file, not counts per source


def run(vault: Path, req: Request) -> int:
    cfg = config.load(vault)
    gv = GitVault(vault)
    commit = when.resolve(gv, req.at)
    wanted = select(cfg, gv, commit, req)
    blobs = gv.read_blobs(commit, wanted)
    actions = plan_all(cfg, wanted, blobs, req)
    if req.dry_run:
        return report(actions, commit, None, [], req, [])
    asked = any(a.kind == "overwrite" for a in actions) and not req.yes
    if asked:
        confirm(actions)
    with vault_lock(vault / ".vaultsync" / "lock", req.wait_s):
        # The agent may have written while we asked or waited for the lock: plan again
        # under it, so the snapshot keeps what is on disk now, not what was read before.
        again = plan_all(cfg, wanted, blobs, req)
        if asked and (moved := _changed_since(actions, again)):
            raise UsageError(
                f"{moved} changed while restore was asking; nothing was restored",
                hint="run the restore again to see what it would overwrite now",
            )
        actions = again
        clean_leftovers(actions)
        try:
            snapshot, kept = (
                (None, []) if req.to_dir else snapshot_current(vault, gv, cfg, actions, req.at)
            )
        except OSError as exc:  # the vault's disk: full, read-only, failing
            err = from_os_error(exc, vault)
            err.message += " (the pre-restore snapshot); nothing was restored"
            raise err from None
        # A file the agent wrote after it was read above is left alone and named.
        left = write_all(actions)
    return report(actions, commit, snapshot, kept, req, left)


def plan_all(cfg: Config, wanted: list[str], blobs: dict[str, bytes], req: Request) -> list[Action]:
    actions = [plan_file(cfg, vp, blobs[vp], req) for vp in wanted]
    _refuse_collisions(actions)
    return actions


def _changed_since(before: list[Action], now: list[Action]) -> Path | None:
    seen = {a.target: a.current for a in before}
    return next((a.target for a in now if seen.get(a.target, a.current) != a.current), None)


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
    snap = _read_current(target)
    # secrets = "redact": the vault never held the secrets, so neither does what comes back.
    redacted = [REDACTED_NOTE] if b"[REDACTED:" in past else []
    if snap is None:
        _refuse_blocked(write_path(target))
        return Action(vp, target, "create", past, None, redacted)
    current = snap.data
    data, detail = (
        _merge(cfg, vp, current, past, req)
        if req.merge
        else (past, _short_diff(cfg, vp, current, past))
    )
    kind = "unchanged" if data == current else "overwrite"
    detail = detail + redacted if kind == "overwrite" else []
    return Action(vp, target, kind, data, current, detail, snap.stat)


def _read_current(target: Path) -> Snapshot | None:
    """The file there now (None: nothing); never opens what is not a regular file: a
    FIFO would block the restore forever."""
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        _refuse_blocked(target)
        return None
    except OSError as exc:
        raise UsageError(
            f"{target}: {exc.strerror}", hint="fix it, or restore with --to DIR"
        ) from None
    if not stat.S_ISREG(st.st_mode):
        what = "a folder" if stat.S_ISDIR(st.st_mode) else _special(st.st_mode)
        raise UsageError(
            f"{target} is {what} where restore would write a file; nothing was restored",
            hint="move it out of the way and run the restore again, or restore with --to DIR",
        )
    try:
        return read_snapshot(target)
    except Unreadable as exc:
        raise UsageError(f"{target}: {exc}", hint="fix it, or restore with --to DIR") from None


def _special(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def _refuse_blocked(target: Path) -> None:
    """A file where restore needs a folder on the way to `target` is an error naming it."""
    if (folder := not_a_folder(target.parents)) is not None:
        raise UsageError(
            f"{folder} is a file, so {target} cannot be restored under it; nothing was restored",
            hint="move the file out of the way, or restore with --to DIR",
        )


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
) -> tuple[str | None, list[Path]]:
    """Commit what is on disk now and not in the vault, before overwriting it: every
    restore can be undone with another restore. It obeys `secrets` as a sync does:
    content that may not be committed is kept outside git, in a 0600 file under
    .vaultsync/pre-restore/ (returned, to be named)."""
    overwrite = [a for a in actions if a.kind == "overwrite" and a.current is not None]
    head = gv.head()
    known = gv.read_blobs(head, [a.vault_path for a in overwrite]) if head else {}
    p = Plan(head=head)
    now = utc_now()
    outside = []
    for a in overwrite:
        assert a.current is not None
        current = _without_secrets(cfg, a.vault_path, a.current)
        if a.vault_path in known and known[a.vault_path] == current:
            continue
        policy = _policy(cfg, a.vault_path)
        if secret_findings(a.current, policy) and policy == "block":
            outside.append(_keep_outside(vault, now, a.vault_path, a.current))
            continue
        checked = schemas.check(current, a.vault_path, cfg.schema_for(a.vault_path))
        if checked.problem is None:
            kind = "modified" if a.vault_path in known else "added"
            p.changes.append(Change(a.vault_path, kind, current, [], blob_id(current)))
        else:
            p.rejected[a.vault_path] = Rejection(str(checked.problem), blob_id(current))
            p.new_rejections[a.vault_path] = current
    host = config.this_host()
    subject = f"pre-restore snapshot (--at {at})"
    return commit_plan(vault, gv, p, host, now, subject=subject), outside


def _policy(cfg: Config, vp: str) -> str:
    src = next((s for s in cfg.sources if s.name == vp.partition("/")[0]), None)
    return cfg.secrets_for(src) if src is not None else cfg.secrets


def _without_secrets(cfg: Config, vp: str, data: bytes) -> bytes:
    """What of a source file a snapshot may commit under secrets = "redact": the secrets
    replaced by [REDACTED:<kind>], as a sync commits it ("block" keeps it outside git)."""
    if _policy(cfg, vp) != "redact":
        return data
    from vaultsync import secretscan

    return secretscan.redact_all(data)


def _keep_outside(vault: Path, now: datetime, vp: str, data: bytes) -> Path:
    folder = vault / ".vaultsync"
    *parents, name = vp.split("/")
    for part in ["pre-restore", now.strftime("%Y%m%dT%H%M%SZ"), *parents]:
        folder = folder / part
        folder.mkdir(mode=0o700, exist_ok=True)
    atomic_write(folder / name, data, mode=0o600)
    return folder / name


def print_actions(actions: list[Action], req: Request) -> None:
    """Each file when they are few (or --files); else counts per source, and the files
    that change if those are few."""
    verb = {"create": "would create", "overwrite": "would overwrite"} if req.dry_run else {}
    shown = actions
    if not req.files and len(actions) > summary.LIST_UP_TO:
        said = {"create": "created", "overwrite": "overwritten", **verb}
        kinds: dict[str, list[str]] = {"unchanged": []}
        for a in actions:
            kinds.setdefault(said.get(a.kind, a.kind), []).append(a.vault_path)
        for line in summary.by_source((k, v) for k, v in kinds.items() if v):
            print(line)
        shown = [a for a in actions if a.kind != "unchanged"]
        if len(shown) > summary.LIST_UP_TO:
            print(summary.files_hint(len(actions)))
            return
    for a in shown:
        print(f"{verb.get(a.kind, a.kind):<16}{a.target}")
        for line in a.detail:
            print(f"                  {line}")


def report(
    actions: list[Action],
    commit: str,
    snapshot: str | None,
    kept: list[Path],
    req: Request,
    left: list[Path],
) -> int:
    code = EXIT_PARTIAL if left else EXIT_OK
    for t in left:
        print(f"warning: {t}: changed after restore read it; left as it is, not restored "
              "(run the restore again to restore it)", file=sys.stderr)
    if req.json_out:
        doc = {
            "commit": commit,
            "dry_run": req.dry_run,
            "snapshot": snapshot,
            "kept_outside_git": [str(k) for k in kept],
            "files": [a.to_json() for a in actions],
            "changed_meanwhile": [str(t) for t in left],
        }
        print(json.dumps(doc, indent=2))
        return code
    if req.quiet:
        return code
    if left:
        actions = [a for a in actions if a.target not in left]
    print_actions(actions, req)
    if snapshot:
        print(f"the content these replaced is in commit {snapshot[:10]} (pre-restore snapshot)")
    for k in kept:
        print(f"replaced content holding a secret is kept outside git (0600): {k}")
    return code
