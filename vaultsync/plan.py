"""Deciding what a sync commits: read each changed file once, hash it, validate it,
scan it for secrets. Accepted files go to a sink as soon as they are decided (the
Committer writes them while the next file is read); status and --dry-run pass none."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vaultsync import config, state
from vaultsync.appended import APPEND_MIN_BYTES, Growth, check_new_lines, growth, is_lines, summary
from vaultsync.config import Config, Source
from vaultsync.errors import UsageError
from vaultsync.gitvault import GitVault, iso_z, utc_now
from vaultsync.reader import Snapshot, Unreadable, blob_id, read_snapshot
from vaultsync.scan import scan_source
from vaultsync.scanned import Candidate, SourceScan, known_dirs
from vaultsync.state import Rejection, State

if TYPE_CHECKING:
    from vaultsync import schemas

SUMMARY_MAX_BYTES = 64 << 20
SECRET_ADVICE = (
    'not committed: exclude the file, or set secrets = "redact" (or "warn") on its source'
)


@dataclass(slots=True)
class Change:
    vault_path: str
    kind: str  # "added" | "modified" | "deleted"
    data: bytes | None = None
    stat: list[int] = field(default_factory=list)
    blob: str | None = None
    checked: schemas.Checked | None = None  # the new version parsed, for the commit body
    old_blob: str | None = None  # HEAD's version, read by id for the commit body
    summary: str | None = None  # known without reading HEAD's version (an append)
    prefix: int = 0  # > 0: data[:prefix] is proved to be HEAD's version (an append)


@dataclass
class Plan:
    """What a sync would do; `status` and `--dry-run` stop here."""

    head: str | None
    changes: list[Change] = field(default_factory=list)
    refreshed: dict[str, state.Entry] = field(default_factory=dict)  # same content, new stat
    rejected: dict[str, Rejection] = field(default_factory=dict)
    new_rejections: dict[str, bytes] = field(default_factory=dict)  # content for the side ref
    held: list[str] = field(default_factory=list)  # messages of guards that held
    kept: list[str] = field(default_factory=list)  # gone on disk, kept (deletions = "keep")
    unavailable: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    scans: list[SourceScan] = field(default_factory=list)
    scanned_ns: int = 0
    config_blob: str | None = None
    warnings: list[str] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[str]:
        return sorted(c.vault_path for c in self.changes if c.kind == kind)


@dataclass(frozen=True)
class Scope:
    """How far a plan looks: `full` hashes every file; `progress` may print to a terminal."""

    full: bool = False
    allow_delete: bool = False
    progress: bool = False


Sink = Callable[["Change"], None]


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
            if name not in ("auto", "none"):  # no schema code to load for the common case
                from vaultsync import schemas

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
        st.moved = True
    return st


def head_blobs(gv: GitVault, head: str | None, paths: Sequence[str]) -> dict[str, str]:
    if not head or not paths:
        return {}
    names = sorted({p.partition("/")[0] for p in paths})
    wanted = set(paths)
    return {p: b for p, b in gv.tree_blobs(head, names).items() if p in wanted}


def plan(
    vault: Path,
    cfg: Config,
    sources: Sequence[Source],
    gv: GitVault,
    st: State,
    scope: Scope,
    sink: Sink | None = None,
) -> Plan:
    p = Plan(head=st.head, scanned_ns=time.time_ns())
    same_config = blob_id(cfg.raw) == st.config_blob
    for src in sources:
        fast = known_dirs(vault, st, src, same_config)
        sc = scan_source(src, st, scope.full, vault, fast)
        if fast is not None and src.name in st.files.lost:
            # Its detail file turned out damaged halfway: walked again, as a rebuild.
            sc = scan_source(src, st, scope.full, vault, None)
        p.scans.append(sc)
        if sc.available and not sc.single:
            st.roots[src.name] = str(src.root)  # its git index follows the state
            if sc.racy:
                st.moved = True  # saved again, so that its racy cutoff moves on
            st.dirs[src.name] = sc.dirs
        p.skipped += [f"{s.path}: {s.reason}" for s in sc.skipped]
        p.unavailable += [
            f"source {src.name!r}: {m}; nothing of it was deleted" for m in sc.unlisted
        ]
        if sc.available and sc.single and not st.files.get(src.name):
            _check_still_a_file(sc, gv, st.head)
        if not sc.available:
            p.unavailable.append(
                f"source {src.name!r} is unavailable ({sc.reason}); nothing of it was deleted"
            )
            continue
        _drop_ghosts(sc, gv, st)
        _plan_deletions(p, sc, cfg, scope)
    _plan_config(p, cfg, gv, st, scope, sink)
    candidates = [c for sc in p.scans if sc.available for c in sc.candidates]
    for sc in p.scans:
        sc.candidates = []  # held by `candidates` alone: each goes once it is read
    # New files (or a rebuilt state): the content HEAD already has is no change.
    known = head_blobs(
        gv, st.head, [c.vault_path for c in candidates if st.entry(c.vault_path) is None]
    )
    for cand in _with_progress(_drain(candidates), len(candidates), scope.progress):
        change = _plan_file(p, cand, st, known, cfg, vault)
        if change is not None:
            p.changes.append(change)
            if sink is not None:
                sink(change)
    return p


def _plan_config(
    p: Plan, cfg: Config, gv: GitVault, st: State, scope: Scope, sink: Sink | None
) -> None:
    """A hand edit of vaultsync.toml goes in with the next sync: a clone must know its sources.
    An edit that drops sources (a truncated file that still parses) is held like a mass
    deletion: committed, it would make every later sync, here and on every clone, a no-op."""
    blob = blob_id(cfg.raw)
    if blob == st.config_blob:
        return
    committed = gv.blob_at(st.head, config.CONFIG_NAME)
    if blob != committed:
        old = gv.read_objects([committed], ["old"]).get("old") if committed else None
        dropped = config.dropped_sources(old, cfg) if old is not None else []
        if dropped and not scope.allow_delete:
            p.held.append(
                f"{config.CONFIG_NAME} no longer has the source(s) {', '.join(dropped)} that "
                "the vault's last commit has; it was not committed. Put them back, or if they "
                "are meant to go, run `vaultsync untrack NAME` (or `vaultsync sync "
                "--allow-delete`)"
            )
            return
        change = Change(config.CONFIG_NAME, "modified", cfg.raw, [], blob)
        p.changes.append(change)
        if sink is not None:
            sink(change)
    p.config_blob = blob


def _check_still_a_file(sc: SourceScan, gv: GitVault, head: str | None) -> None:
    """A file where HEAD holds a folder of that source (the state, which would say so,
    is lost): the folder was replaced, and committing `mem/mem` would bury it."""
    if head is None:
        return
    name = sc.source.name
    if set(gv.tree_blobs(head, [name])) - {f"{name}/{sc.source.root.name}"}:
        sc.available = False
        sc.reason = f"{sc.source.path}: not a folder any more (a file took its place)"


def _drop_ghosts(sc: SourceScan, gv: GitVault, st: State) -> None:
    """A file the state lists but HEAD lacks (a hand-edited or stale state) is not a
    deletion to commit: forget it, and rewrite the state."""
    if not sc.deleted:
        return
    in_head = head_blobs(gv, st.head, sc.deleted)
    ghosts = [vp for vp in sc.deleted if vp not in in_head]
    for vp in ghosts:
        st.drop(vp)
    if ghosts:
        sc.deleted = [vp for vp in sc.deleted if vp in in_head]
        st.moved = True


def _plan_deletions(p: Plan, sc: SourceScan, cfg: Config, scope: Scope) -> None:
    tracked = sc.seen + len(sc.deleted)
    gone = sc.deleted
    if not gone:
        return
    if sc.source.deletions == "keep":
        p.kept += gone  # an archive: never deleted, so no guard holds anything
        return
    if not scope.allow_delete and len(gone) >= 5 and len(gone) > cfg.max_delete * tracked:
        p.held.append(
            f"source {sc.source.name!r}: {len(gone)} of {tracked} files were deleted, more than "
            f"max_delete ({cfg.max_delete:.0%}); the deletions were not committed. If they are "
            "meant, run `vaultsync sync --allow-delete`"
        )
        return
    p.changes += [Change(vp, "deleted") for vp in gone]


def _plan_file(
    p: Plan, cand: Candidate, st: State, known: dict[str, str], cfg: Config, vault: Path
) -> Change | None:
    """The change this file makes, or None (unchanged, or rejected: recorded in `p`)."""
    from vaultsync import schemas  # not imported by a sync that reads no file

    vp = cand.vault_path
    old = st.entry(vp)
    prior = st.rejected.get(vp)
    if prior is not None and prior.stat == cand.stat:
        p.rejected[vp] = prior  # still the same rejected content: not read again
        return None
    rel = vp.partition("/")[2]
    schema = schemas.pick_schema(cand.source.schema, rel)
    # An append's proof (appended.growth) is hashed with the file's own id, for a file
    # the append path can take: not every big file (a 545 MB JSON export is no append).
    can_grow = old is not None and old.size >= APPEND_MIN_BYTES
    prefix = old.size if old is not None and can_grow and _append_schema(vp, schema, st) else 0
    try:
        snap = read_snapshot(cand.path, prefix)
    except Unreadable as exc:
        p.rejected[vp] = Rejection(str(exc), None, cand.stat, iso_z(utc_now()))
        return None
    # The scan's stat when it is the same: one list and four ints a file, not two.
    stat = cand.stat if cand.stat == snap.stat else snap.stat
    committed = old.blob if old else known.get(vp)
    if snap.blob == committed:
        p.refreshed[vp] = state.Entry.of(stat, snap.blob)
        return None
    if snap.blob == st.superseded.get(vp):
        # This disk still has the version another machine has since replaced: not a
        # change here (committing it would put the old memory back over the new one).
        return None
    policy = cfg.secrets_for(cand.source)
    grown = _appended(snap, vp, schema, st, committed, vault)
    secrets = secret_findings(snap.data[grown[1].offset :] if grown else snap.data, policy)
    if grown is not None and secrets and policy == "redact":
        # Redaction works on the whole file's spans: the append path ends here.
        grown, secrets = None, secret_findings(snap.data, policy)
    data, blob = snap.data, snap.blob
    if secrets and policy == "block":
        # Not written anywhere in git, not even the rejected ref: history is forever.
        reason = f"{secrets}; {SECRET_ADVICE}"
        p.rejected[vp] = Rejection(reason, snap.blob, stat, iso_z(utc_now()))
        return None
    if secrets and policy == "redact":
        # The vault's copy differs from the source by design: its blob is what the state
        # records, so the same content redacts to the same blob and is no change.
        from vaultsync import secretscan

        data = secretscan.redact(snap.data, secretscan.spans(snap.data))
        blob = blob_id(data)
        if blob == committed:
            p.refreshed[vp] = state.Entry.of(stat, blob)
            return None
    checked = grown[0] if grown else schemas.check(data, vp, schema, vault_root=vault, tree=False)
    if checked.problem is not None:
        p.rejected[vp] = Rejection(str(checked.problem), blob, stat, iso_z(utc_now()))
        if prior is None or prior.blob != blob:
            p.new_rejections[vp] = data
        return None
    if secrets:
        done = "with the secrets replaced by [REDACTED:<kind>]" if policy == "redact" else "with"
        p.warnings.append(f'{vp}: committed {done} {secrets} (secrets = "{policy}")')
    kind = "added" if committed is None else "modified"
    if checked.lines and len(data) >= APPEND_MIN_BYTES:
        st.line_schemas[vp] = [blob, checked.schema]
    if grown is not None:
        g = grown[1]
        return Change(vp, kind, data, stat, blob, None, committed, summary(checked), g.offset)
    keep = checked if kind == "modified" and len(data) <= SUMMARY_MAX_BYTES else None
    if keep is not None and by_lines(keep):
        # Summarised from the lines that differ (commit.summarize): the raw bytes are
        # kept instead of 150,000 parsed items.
        keep = dataclasses.replace(keep, doc=None)
    return Change(vp, kind, data, stat, blob, keep, committed)


def _appended(
    snap: Snapshot, vp: str, schema: str, st: State, committed: str | None, vault: Path
) -> tuple[schemas.Checked, Growth] | None:
    """The new lines checked, when the file only appends lines to the committed version."""
    data = snap.data
    old = st.entry(vp)
    if old is None or committed is None or committed != old.blob or len(data) < APPEND_MIN_BYTES:
        return None
    proved = snap.prefix_blob if len(data) > old.size else None
    g = growth(data, vp, old.size, committed, _append_schema(vp, schema, st), proved)
    checked = check_new_lines(data, vp, g, schema == "auto", vault) if g else None
    return (checked, g) if checked is not None and g is not None else None


def _append_schema(vp: str, schema: str, st: State) -> str | None:
    """The schema an append to this file is checked against (for "auto": the one its
    committed version was checked against), or None: the file is checked whole."""
    if schema == "auto":
        known = st.line_schemas.get(vp)
        old = st.entry(vp)
        schema = known[1] if known and old is not None and known[0] == old.blob else ""
    return schema if schema and schema != "none" and is_lines(vp, schema) else None


def by_lines(checked: schemas.Checked) -> bool:
    """An MCP graph in JSON Lines: one memory a line, so the changed memories are the
    changed lines."""
    from vaultsync.memories import GRAPH_SCHEMA

    return checked.lines and checked.schema == GRAPH_SCHEMA


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


def _drain(items: list[Candidate]) -> Iterator[Candidate]:
    """Each item in order, dropped from `items` as it is handed out: a 100,000-file
    import does not keep every file's path and stat once its change holds what counts."""
    items.reverse()
    while items:
        yield items.pop()


def _with_progress(items: Iterator[Candidate], total: int, progress: bool) -> Iterator[Candidate]:
    """A progress bar on a terminal for long reads (an initial import); silent in cron,
    with --quiet and with --json. rich (typer's own dependency) draws it on stderr."""
    if not progress or total < 500 or not sys.stderr.isatty():
        yield from items
        return
    from rich.console import Console
    from rich.progress import track

    console = Console(stderr=True)
    yield from track(items, "reading", total, console=console, transient=True)
