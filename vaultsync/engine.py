"""One sync operation with a result: take the lock, plan, commit, record the state,
push; then hand the result (failed or not) to every observer. `vaultsync sync`
renders what this returns; the watcher loops on it."""

from __future__ import annotations

import errno
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from vaultsync import config, eventlog, metrics, runs, state, statefile
from vaultsync.clock import utc_now
from vaultsync.commit import Committer
from vaultsync.config import Config, Source
from vaultsync.errors import (
    EXIT_INTERNAL,
    DiskFullError,
    LockedError,
    VaultNotFound,
    VaultsyncError,
    from_os_error,
)
from vaultsync.forgetting import Forgotten, Watcher
from vaultsync.plan import Plan, Scope, check_schemas, load_state, plan, selected_sources
from vaultsync.result import Failure, PushResult, PushStatus, Rejected, SyncResult, locked_failure
from vaultsync.state import State
from vaultsync.vault import Vault


@dataclass(frozen=True)
class SyncOptions:
    sources: Sequence[str] = ()
    dry_run: bool = False
    allow_delete: bool = False
    full: bool = False
    wait_s: float = 0.0
    json_out: bool = False
    quiet: bool = False
    push: bool = True


Observer = Callable[[Vault, SyncResult], None]


def observe_alerts(vault: Vault, result: SyncResult) -> None:
    """alerts.observe, imported only when the configuration asks for an alert command or
    a heartbeat (most syncs: ~1 ms of start-up saved)."""
    try:
        cfg = vault.config
    except VaultsyncError:
        return  # the sync failed on a broken vaultsync.toml: no command to run
    if cfg.notify or cfg.heartbeat:
        from vaultsync import alerts

        alerts.observe(vault, result)


# Told of every run, failed or not, in this order. The operations code adds metrics,
# alerts and the heartbeat here.
observers: list[Observer] = [
    eventlog.log_result,
    runs.record,
    metrics.write,
    observe_alerts,  # last: the user's commands may take a while
]


def sync_once(vault: Vault, opts: SyncOptions) -> SyncResult:
    started, t0 = utc_now(), time.monotonic()

    def failed(message: str, exit_code: int, locked: bool = False) -> SyncResult:
        failure = locked_failure(message) if locked else Failure(message, exit_code)
        return SyncResult(started, time.monotonic() - t0, dry_run=opts.dry_run, failure=failure)

    try:
        try:
            result = _sync(vault, opts, started, t0)
        except OSError as exc:
            # Sources' read errors are per file (a rejection); one that gets this far is
            # the vault's disk: full, read-only, or refused.
            raise from_os_error(exc, vault.root) from exc
    except VaultNotFound:
        raise  # no vault: nowhere to record anything
    except LockedError as exc:
        result = failed(str(exc), exc.exit_code, locked=True)
    except VaultsyncError as exc:
        result = failed(str(exc), exc.exit_code)
    except Exception as exc:
        # A bug: the observers still hear that the run failed; the crash handler then
        # saves the traceback.
        notify(vault, failed(f"internal error ({type(exc).__name__}: {exc})", EXIT_INTERNAL))
        raise
    notify(vault, result)
    return result


def notify(vault: Vault, result: SyncResult) -> None:
    """Hand the result to each observer; one that fails is logged and never fails the sync."""
    for observer in observers:
        try:
            observer(vault, result)
        except Exception as exc:  # an observer's failure must not turn into a failed sync
            name = getattr(observer, "__qualname__", repr(observer))
            try:
                eventlog.append(vault.root, "observer-failed", f"{name}: {exc}")
            except OSError:
                pass


def _sync(vault: Vault, opts: SyncOptions, started: datetime, t0: float) -> SyncResult:
    cfg = vault.config
    host = vault.host
    sources = selected_sources(cfg, opts.sources, host)
    unbound = () if opts.sources else unbound_message(cfg, sources, host)
    check_schemas(vault.root, sources)
    gv = vault.git
    scope = Scope(opts.full, opts.allow_delete, progress=not (opts.quiet or opts.json_out))
    if opts.dry_run:
        st = load_state(vault.root, gv, gv.head())
        p = plan(vault.root, cfg, sources, gv, st, scope)
        return _result(p, None, started, t0, opts, PushResult.skipped("dry run"), unbound)
    with vault.lock(opts.wait_s):
        head = gv.head()
        st = load_state(vault.root, gv, head)
        committer = Committer(vault.root, gv, head)
        watcher = committer.watch = Watcher(vault.root, cfg.forget_alert, head)
        try:
            p = plan(vault.root, cfg, sources, gv, st, scope, sink=committer)
            watcher.vanished(gv, p)
            sent = committer.send(p, host, utc_now())
            dirty = record(st, p)
            if dirty and sent:
                # Beside git's work on the commit (the other core): the state's parts,
                # which only the summary written after the commit makes current.
                statefile.save_details(vault.root, st)
            commit = committer.complete()
        except (DiskFullError, OSError) as exc:
            committer.abort()
            if isinstance(exc, DiskFullError) or exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFullError(vault.root, committer.bytes_in) from None
            raise
        except BaseException:
            committer.abort()
            raise
        if settle_head(st, commit or p.head) or dirty:
            state.save(vault.root, st)
        pushed = push(vault, cfg) if opts.push else PushResult.skipped("--no-push")
    result = _result(p, commit, started, t0, opts, pushed, unbound, tuple(watcher.found))
    return replace(result, memories=tuple(sorted(watcher.counts.items())))


def unbound_message(cfg: Config, selected: Sequence[Source], host: str) -> tuple[str, ...]:
    """Why a sync that selected no source would back up nothing, and what to do: a
    renamed machine or a forgotten `adopt` must not say "nothing changed" forever."""
    if selected:
        return ()
    if not cfg.sources:
        return ("no sources are tracked yet; add one with `vaultsync track PATH`",)
    owners = ", ".join(f"{s.name} ({s.host})" for s in cfg.sources)
    names = " ".join(s.name for s in cfg.sources)
    return (
        f"no source is bound to this machine ({host!r}): {owners}; if this machine now "
        f"holds them, run `vaultsync adopt {names}`, or set $VAULTSYNC_HOST",
    )


def settle_head(st: State, head: str | None) -> bool:
    """The commit the state stands on; returns whether it moved."""
    moved = head != st.head
    st.head = head
    return moved


def record(st: State, p: Plan) -> bool:
    """Fold what this run saw into the state (only for the sources it scanned), all but
    the commit it stands on (settle_head); returns whether anything it records changed."""
    for c in p.changes:
        st.superseded.pop(c.vault_path, None)  # changed here since: this version counts
        if c.kind == "deleted":
            st.drop(c.vault_path)
        elif c.prefix and c.vault_path != config.CONFIG_NAME and c.blob is not None:
            st.hashed.add(c.vault_path)  # an append: its blob is the hash of the bytes read
    st.put_all(_entries(p))
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
        or p.head != st.head
        or (p.config_blob or st.config_blob) != st.config_blob
    )
    st.rejected = rejected
    st.config_blob = p.config_blob or st.config_blob
    if dirty:
        # Only a state that is rewritten may move its racy cutoff: every entry it keeps
        # was either hashed this run or already older than the previous cutoff.
        st.scanned_ns = p.scanned_ns
    return dirty


def _entries(p: Plan) -> Iterator[tuple[str, list[int], str]]:
    """What the state records of each file committed; the change lets go of its stat
    (the state's now: a 100,000-file import keeps it once, not twice)."""
    for c in p.changes:
        if c.kind != "deleted" and c.vault_path != config.CONFIG_NAME and c.blob is not None:
            yield c.vault_path, c.stat, c.blob
            c.stat = []


def push(vault: Vault, cfg: Config) -> PushResult:
    """Push whatever the remote lacks: a push that failed last time is retried now."""
    if not cfg.remote:
        return PushResult.skipped("no remote")
    gv = vault.git
    if gv.remote_url(cfg.remote) is None:
        return PushResult(
            PushStatus.NOT_CONFIGURED,
            f"remote {cfg.remote!r} is set in vaultsync.toml but not in git; "
            f"add it with `git -C {gv.root} remote add {cfg.remote} URL`",
        )
    if gv.head() is None:
        return PushResult.skipped("nothing committed yet")
    from vaultsync import integrate  # fetch and merge when another machine pushed first

    return integrate.push(vault, cfg)


def _result(
    p: Plan,
    commit: str | None,
    started: datetime,
    t0: float,
    opts: SyncOptions,
    pushed: PushResult,
    unbound: tuple[str, ...],
    forgotten: tuple[Forgotten, ...] = (),
) -> SyncResult:
    return SyncResult(
        started=started,
        duration_s=time.monotonic() - t0,
        dry_run=opts.dry_run,
        commit=commit,
        head=pushed.merged or commit or p.head,
        added=tuple(p.of_kind("added")),
        modified=tuple(p.of_kind("modified")),
        deleted=tuple(p.of_kind("deleted")),
        rejected=tuple(
            Rejected.of(vp, r.reason, r.blob is not None) for vp, r in sorted(p.rejected.items())
        ),
        held=tuple(p.held),
        unavailable=tuple(p.unavailable),
        unbound=unbound,
        skipped=tuple(p.skipped),
        warnings=tuple(p.warnings),
        push=pushed,
        forgotten=forgotten,
        files_tracked=sum(sc.seen for sc in p.scans),
        files_by_source=tuple((sc.source.name, sc.seen) for sc in p.scans if sc.available),
    )
