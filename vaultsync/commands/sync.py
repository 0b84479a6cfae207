"""`vaultsync sync`: scan, read each changed file once, validate, commit, record state."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from vaultsync import __version__, config, eventlog, schemas, state
from vaultsync.config import Config, Source
from vaultsync.errors import EXIT_OK, EXIT_PARTIAL, EXIT_PUSH_FAILED, UsageError
from vaultsync.fsutil import atomic_write, vault_lock
from vaultsync.gitvault import REJECTED_REF, GitVault, Ident, iso_z, utc_now
from vaultsync.reader import Unreadable, blob_id, read_snapshot
from vaultsync.scan import Candidate, SourceScan, scan_source
from vaultsync.state import Rejection, State

SUMMARY_MAX_BYTES = 64 << 20


@dataclass
class Change:
    vault_path: str
    kind: str  # "added" | "modified" | "deleted"
    data: bytes | None = None
    stat: list[int] = field(default_factory=list)
    blob: str | None = None
    checked: schemas.Checked | None = None  # the new version parsed, for the commit body


@dataclass
class Plan:
    """What a sync would do; `status` and `--dry-run` stop here."""

    head: str | None
    changes: list[Change] = field(default_factory=list)
    refreshed: dict[str, state.Entry] = field(default_factory=dict)  # same content, new stat
    rejected: dict[str, Rejection] = field(default_factory=dict)
    new_rejections: dict[str, bytes] = field(default_factory=dict)  # content for the side ref
    held: list[str] = field(default_factory=list)  # messages of guards that held
    unavailable: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    scans: list[SourceScan] = field(default_factory=list)
    scanned_ns: int = 0
    pushed: bool = False
    push_error: str | None = None
    config_blob: str | None = None
    warnings: list[str] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[str]:
        return sorted(c.vault_path for c in self.changes if c.kind == kind)


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


def selected_sources(cfg: Config, names: Sequence[str], host: str) -> list[Source]:
    if not names:
        return [s for s in cfg.sources if s.on_this_host(host)]
    chosen = [cfg.source(n) for n in names]
    if other := [s for s in chosen if not s.on_this_host(host)]:
        s = other[0]
        raise UsageError(
            f"source {s.name!r} belongs to host {s.host!r}, and this is {host!r}",
            hint=f"if this machine now holds it, run `vaultsync adopt {s.name}`",
        )
    return chosen


def check_schemas(vault: Path, sources: Sequence[Source]) -> None:
    """A missing or broken user schema is a configuration error (exit 2) before any work,
    not a surprise halfway through a sync."""
    for src in sources:
        rules = [src.schema] if isinstance(src.schema, str) else list(src.schema.values())
        for name in rules:
            schemas.ensure_schema(name, vault_root=vault)


def load_state(vault: Path, gv: GitVault, head: str | None) -> State:
    """The saved state, made consistent with HEAD.

    A missing or unreadable state is rebuilt as an empty one: every file becomes a
    candidate, is hashed and compared with HEAD's blob (no spurious commit), and since
    it lists no file that is not on disk, it never infers a deletion."""
    st = state.load(vault)
    if st is None:
        return State(head=head, rebuilt=True)
    if st.head != head:
        changed = gv.changed_between(st.head, head) if st.head and head else None
        if changed is None:
            return State(head=head, rebuilt=True)
        # Someone else moved HEAD (a hand-made commit, a pull): what the state says
        # about those paths no longer describes HEAD.
        for vp in changed:
            st.drop(vp)
        st.head = head
    return st


def head_blobs(gv: GitVault, head: str | None, paths: Sequence[str]) -> dict[str, str]:
    if not head or not paths:
        return {}
    names = sorted({p.partition("/")[0] for p in paths})
    wanted = set(paths)
    return {p: b for p, b in gv.tree_blobs(head, names).items() if p in wanted}


def plan(
    vault: Path, cfg: Config, sources: Sequence[Source], gv: GitVault, st: State, opts: Options
) -> Plan:
    p = Plan(head=st.head, scanned_ns=time.time_ns())
    for src in sources:
        sc = scan_source(src, st, opts.full)
        p.scans.append(sc)
        p.skipped += [f"{s.path}: {s.reason}" for s in sc.skipped]
        if not sc.available:
            p.unavailable.append(
                f"source {src.name!r} is unavailable ({sc.reason}); nothing of it was deleted"
            )
            continue
        _plan_deletions(p, st, sc, cfg, opts)
    _plan_config(p, cfg, gv, st)
    candidates = [c for sc in p.scans for c in sc.candidates]
    # New files (or a rebuilt state): the content HEAD already has is no change.
    known = head_blobs(
        gv, st.head, [c.vault_path for c in candidates if st.entry(c.vault_path) is None]
    )
    for cand in _with_progress(candidates, opts):
        _plan_file(p, cand, st, known, cfg, vault)
    return p


def _plan_config(p: Plan, cfg: Config, gv: GitVault, st: State) -> None:
    """A hand edit of vaultsync.toml goes in with the next sync: a clone must know its sources."""
    blob = blob_id(cfg.raw)
    if blob == st.config_blob:
        return
    if blob != gv.blob_at(st.head, config.CONFIG_NAME):
        p.changes.append(Change(config.CONFIG_NAME, "modified", cfg.raw, [], blob))
    p.config_blob = blob


def _plan_deletions(p: Plan, st: State, sc: SourceScan, cfg: Config, opts: Options) -> None:
    tracked = sc.seen + len(sc.deleted)
    gone = sc.deleted
    if not gone:
        return
    if not opts.allow_delete and len(gone) >= 5 and len(gone) > cfg.max_delete * tracked:
        p.held.append(
            f"source {sc.source.name!r}: {len(gone)} of {tracked} files were deleted, more than "
            f"max_delete ({cfg.max_delete:.0%}); the deletions were not committed. If they are "
            "meant, run `vaultsync sync --allow-delete`"
        )
        return
    p.changes += [Change(vp, "deleted") for vp in gone]


def _plan_file(
    p: Plan, cand: Candidate, st: State, known: dict[str, str], cfg: Config, vault: Path
) -> None:
    vp = cand.vault_path
    old = st.entry(vp)
    prior = st.rejected.get(vp)
    if prior is not None and prior.stat == cand.stat:
        p.rejected[vp] = prior  # still the same rejected content: not read again
        return
    try:
        snap = read_snapshot(cand.path)
    except Unreadable as exc:
        p.rejected[vp] = Rejection(str(exc), None, cand.stat, iso_z(utc_now()))
        return
    committed = old[4] if old else known.get(vp)
    if snap.blob == committed:
        p.refreshed[vp] = [*snap.stat, snap.blob]
        return
    rel = vp.partition("/")[2]
    checked = schemas.check(
        snap.data, vp, schemas.pick_schema(cand.source.schema, rel), vault_root=vault
    )
    secrets = secret_findings(snap.data, cfg.secrets)
    if secrets and cfg.secrets == "block":
        # Not written anywhere in git, not even the rejected ref: history is forever.
        p.rejected[vp] = Rejection(secrets, snap.blob, snap.stat, iso_z(utc_now()))
        return
    if checked.problem is not None:
        p.rejected[vp] = Rejection(str(checked.problem), snap.blob, snap.stat, iso_z(utc_now()))
        if prior is None or prior.blob != snap.blob:
            p.new_rejections[vp] = snap.data
        return
    if secrets:
        p.warnings.append(f'{vp}: committed with {secrets} (secrets = "warn")')
    kind = "added" if committed is None else "modified"
    keep = checked if kind == "modified" and len(snap.data) <= SUMMARY_MAX_BYTES else None
    p.changes.append(Change(vp, kind, snap.data, snap.stat, snap.blob, keep))


def secret_findings(data: bytes, policy: str) -> str:
    """'' when clean (or not scanned), else what was found where, never the value."""
    if policy == "off":
        return ""
    from vaultsync import secretscan

    found = secretscan.scan(data)
    if not found:
        return ""
    more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
    return "secret found: " + "; ".join(str(f) for f in found[:3]) + more


def _with_progress(items: list[Candidate], opts: Options) -> Iterator[Candidate]:
    """Progress on a terminal for long reads (an initial import); silent otherwise."""
    if opts.quiet or opts.json_out or len(items) < 500 or not sys.stderr.isatty():
        yield from items
        return
    total, shown = len(items), 0.0
    for i, item in enumerate(items, 1):
        if time.monotonic() - shown > 0.5:
            print(f"\rreading {i}/{total} files", end="", file=sys.stderr, flush=True)
            shown = time.monotonic()
        yield item
    print(f"\rread {total} files" + " " * 12, file=sys.stderr)


# -- apply --------------------------------------------------------------------------------


def commit_message(
    p: Plan,
    when: datetime,
    host: str,
    subject: str | None = None,
    summaries: dict[str, str] | None = None,
) -> str:
    added, modified, deleted = (p.of_kind(k) for k in ("added", "modified", "deleted"))
    counts = f"+{len(added)} ~{len(modified)} -{len(deleted)}"
    subject = f"vaultsync: {subject or iso_z(when)} {counts}"
    said = summaries or {}
    body = [
        f"{c.vault_path}: {said.get(c.vault_path, c.kind)}"
        for c in sorted(p.changes, key=lambda c: c.vault_path)
    ]
    trailers = f"Vaultsync-Host: {host}\nVaultsync-Version: {__version__}"
    return f"{subject}\n\n" + "\n".join(body) + f"\n\n{trailers}\n"


def summarize(gv: GitVault, head: str | None, changes: list[Change]) -> dict[str, str]:
    """'+3 entities, 1 entity changed' per modified file, diffed against HEAD's version.
    Files over SUMMARY_MAX_BYTES say only "modified": parsing the old version of a
    600 MB export as well would double the memory a sync needs."""
    wanted = [c for c in changes if c.checked is not None and c.checked.problem is None]
    if not head or not wanted:
        return {}
    from vaultsync import semdiff

    old = gv.read_blobs(head, [c.vault_path for c in wanted])
    out = {}
    for c in wanted:
        assert c.checked is not None
        before = old.get(c.vault_path)
        prior = schemas.check(before, c.vault_path, c.checked.schema) if before else None
        if prior is not None and prior.problem is None:
            out[c.vault_path] = semdiff.diff_docs(
                prior.doc, c.checked.doc, c.checked.schema
            ).summary()
        c.checked = None  # the parsed document is not needed past this point
    return out


def rejection_message(vp: str, reason: str, host: str) -> str:
    return f"vaultsync: rejected {vp}\n\n{reason}\n\nVaultsync-Host: {host}\n"


def apply(
    vault: Path, gv: GitVault, p: Plan, host: str, when: datetime, subject: str | None = None
) -> str | None:
    """Write the work tree copies and one commit; returns the new HEAD (or None)."""
    if not p.changes and not p.new_rejections:
        return None
    ident = Ident.for_host(host)
    message = commit_message(p, when, host, subject, summarize(gv, p.head, p.changes))
    writer = gv.writer()
    try:
        files = [(c.vault_path, _copy_in(vault, c, writer.blob)) for c in p.changes]
        if files:
            writer.commit(gv.head_ref(), p.head, message, when, ident, files)
        parent = gv.resolve(REJECTED_REF)
        for vp, data in sorted(p.new_rejections.items()):
            msg = rejection_message(vp, str(p.rejected[vp].reason), host)
            writer.commit(REJECTED_REF, parent, msg, when, ident, [(vp, writer.blob(data))])
            parent = None  # later commits in one fast-import session continue the ref
        writer.close()
    except BaseException:
        writer.abort()
        raise
    if not files:
        return None
    gv.stage([c.vault_path for c in p.changes])
    gv.pack_if_needed()
    return gv.head()


def _copy_in(vault: Path, c: Change, blob: Callable[[bytes], str]) -> str | None:
    target = vault / c.vault_path
    if c.data is None:
        target.unlink(missing_ok=True)
        _prune_empty(target.parent, vault)
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    # Not fsynced: git's objects are the durable copy; the work tree is for browsing.
    atomic_write(target, c.data, durable=False)
    return blob(c.data)


def _prune_empty(folder: Path, vault: Path) -> None:
    while folder != vault:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


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


# -- the command ---------------------------------------------------------------------------


def run(vault: Path, opts: Options) -> int:
    started = time.monotonic()
    cfg = config.load(vault)
    host = config.this_host()
    sources = selected_sources(cfg, opts.sources, host)
    check_schemas(vault, sources)
    gv = GitVault(vault)
    if opts.dry_run:
        st = load_state(vault, gv, gv.head())
        p = plan(vault, cfg, sources, gv, st, opts)
        return report(p, None, opts, started, dry_run=True)
    with vault_lock(vault / ".vaultsync" / "lock", opts.wait_s):
        head = gv.head()
        st = load_state(vault, gv, head)
        p = plan(vault, cfg, sources, gv, st, opts)
        when = utc_now()
        commit = apply(vault, gv, p, host, when)
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
