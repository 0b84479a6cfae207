"""`vaultsync sync`: plan, commit, record the state, push, report."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vaultsync import config, eventlog, state
from vaultsync.commit import Committer
from vaultsync.config import Config
from vaultsync.errors import EXIT_OK, EXIT_PARTIAL, EXIT_PUSH_FAILED
from vaultsync.fsutil import vault_lock
from vaultsync.gitvault import GitVault, iso_z, utc_now
from vaultsync.plan import Plan, Scope, check_schemas, load_state, plan, selected_sources
from vaultsync.state import State


@dataclass
class Options:
    sources: Sequence[str] = ()
    dry_run: bool = False
    allow_delete: bool = False
    full: bool = False
    wait_s: float = 0.0
    json_out: bool = False
    quiet: bool = False
    push: bool = True


def record(st: State, p: Plan, commit: str | None) -> bool:
    """Fold what this run saw into the state (only for the sources it scanned);
    returns whether anything the state records changed."""
    for c in p.changes:
        if c.kind == "deleted":
            st.drop(c.vault_path)
        elif c.vault_path != config.CONFIG_NAME:
            st.put(c.vault_path, [*c.stat, c.blob])
    for vp, entry in p.refreshed.items():
        st.put(vp, entry)
    scanned = {sc.source.name for sc in p.scans if sc.available}
    rejected = {vp: r for vp, r in st.rejected.items() if vp.partition("/")[0] not in scanned}
    rejected.update(p.rejected)
    dirty = bool(
        st.rebuilt
        or st.moved
        or p.changes
        or p.refreshed
        or rejected != st.rejected
        or (commit or p.head) != st.head
        or (p.config_blob or st.config_blob) != st.config_blob
    )
    st.rejected = rejected
    st.head = commit or p.head
    st.config_blob = p.config_blob or st.config_blob
    if dirty:
        # Only a state that is rewritten may move its racy cutoff: every entry it keeps
        # was either hashed this run or already older than the previous cutoff.
        st.scanned_ns = p.scanned_ns
    return dirty


def run(vault: Path, opts: Options) -> int:
    started = time.monotonic()
    cfg = config.load(vault)
    host = config.this_host()
    sources = selected_sources(cfg, opts.sources, host)
    check_schemas(vault, sources)
    gv = GitVault(vault)
    scope = Scope(opts.full, opts.allow_delete, progress=not (opts.quiet or opts.json_out))
    if opts.dry_run:
        st = load_state(vault, gv, gv.head())
        p = plan(vault, cfg, sources, gv, st, scope)
        return report(p, None, opts, started, dry_run=True)
    with vault_lock(vault / ".vaultsync" / "lock", opts.wait_s):
        head = gv.head()
        st = load_state(vault, gv, head)
        committer = Committer(vault, gv)
        try:
            p = plan(vault, cfg, sources, gv, st, scope, sink=committer)
            when = utc_now()
            commit = committer.finish(p, host, when)
        except BaseException:
            committer.abort()
            raise
        if record(st, p, commit):
            state.save(vault, st)
        stamp = iso_z(when)
        state.save_runs(vault, state.Runs(last_run=stamp, last_success=stamp))
        if opts.push:
            push(gv, cfg, p)
        eventlog.log_sync(vault, p, commit)
    return report(p, commit, opts, started)


def push(gv: GitVault, cfg: Config, p: Plan) -> None:
    """Push whatever the remote lacks: a push that failed last time is retried now."""
    if not cfg.remote:
        return
    if gv.remote_url(cfg.remote) is None:
        p.push_error = (
            f"remote {cfg.remote!r} is set in vaultsync.toml but not in git; "
            f"add it with `git -C {gv.root} remote add {cfg.remote} URL`"
        )
        return
    if not gv.needs_push(cfg.remote, cfg.branch):
        p.pushed = True
        return
    p.push_error = gv.push(cfg.remote, cfg.branch, cfg.push_timeout_s)
    p.pushed = p.push_error is None


def exit_code(p: Plan) -> int:
    if p.push_error:
        return EXIT_PUSH_FAILED  # wins over 1: the commit is safe locally, the copy is not
    return EXIT_PARTIAL if (p.rejected or p.held or p.unavailable) else EXIT_OK


def report(
    p: Plan, commit: str | None, opts: Options, started: float, dry_run: bool = False
) -> int:
    for line in p.skipped:
        print(f"warning: skipped {line}", file=sys.stderr)
    for line in p.warnings:
        print(f"warning: {line}", file=sys.stderr)
    doc = {
        "commit": commit,
        "added": p.of_kind("added"),
        "modified": p.of_kind("modified"),
        "deleted": p.of_kind("deleted"),
        "rejected": [{"path": vp, "reason": r.reason} for vp, r in sorted(p.rejected.items())],
        "unavailable": p.unavailable,
        "held": p.held,
        "pushed": p.pushed,
        "dry_run": dry_run,
        "duration_s": round(time.monotonic() - started, 3),
    }
    if opts.json_out:
        print(json.dumps(doc, indent=2))
    elif not opts.quiet:
        _print_human(p, commit, dry_run)
    for msg in p.held + p.unavailable:
        print(f"warning: {msg}", file=sys.stderr)
    if p.push_error:
        print(
            f"push failed (the commit is kept; the next sync pushes again): {p.push_error}",
            file=sys.stderr,
        )
    if not opts.json_out:
        for vp, r in sorted(p.rejected.items()):
            print(f"rejected: {vp}: {r.reason}", file=sys.stderr)
    return exit_code(p)


def _print_human(p: Plan, commit: str | None, dry_run: bool) -> None:
    counts = (
        f"+{len(p.of_kind('added'))} ~{len(p.of_kind('modified'))} -{len(p.of_kind('deleted'))}"
    )
    if dry_run:
        print(f"would commit {counts}" if p.changes else "nothing to commit")
        for c in sorted(p.changes, key=lambda c: c.vault_path):
            print(f"  {c.kind:<9}{c.vault_path}")
    elif commit:
        print(f"committed {commit[:10]} {counts}")
    else:
        print("nothing changed")
