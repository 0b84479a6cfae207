"""What a sync did, as data: the engine builds it, commands render it, observers (the
log, runs.json, metrics, alerts) read it. Each condition that can go wrong has its own
type, event name and exit code, so an alert or a health check can say which failed."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vaultsync.errors import EXIT_LOCKED, EXIT_OK, EXIT_PARTIAL, EXIT_PUSH_FAILED
from vaultsync.forgetting import Forgotten


class PushStatus(enum.StrEnum):
    OK = "ok"  # the remote has HEAD (pushed now, or already)
    SKIPPED = "skipped"  # no remote set, --no-push, or nothing committed yet
    NOT_CONFIGURED = "not-configured"  # vaultsync.toml names a remote git does not know
    REJECTED = "rejected"  # non-fast-forward: another machine pushed first
    AUTH = "auth"  # the server refused who we are
    NETWORK = "network"  # the server could not be reached
    TIMEOUT = "timeout"  # no answer within push_timeout
    ERROR = "error"  # anything else git said


class ConflictKind(enum.StrEnum):
    BOTH_CHANGED = "both-changed"  # changed here and there: this machine's version kept
    THEIRS_IN_VAULT = "theirs-in-vault"  # the vault took theirs; this machine's file differs
    CONFIG = "config"  # one setting of vaultsync.toml set differently on two machines


@dataclass(frozen=True)
class Conflict:
    """A file (or a setting) the machines disagree on. History has both versions; the
    message says which one is current, the hint what to do about it."""

    kind: ConflictKind
    path: str
    theirs: str  # the commit that has the other machine's version
    message: str
    hint: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "kind": str(self.kind),
            "path": self.path,
            "theirs": self.theirs,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass(frozen=True)
class PushResult:
    status: PushStatus
    message: str = ""
    # Another machine's commits taken in on the way (vaultsync.integrate): the commit that
    # brought them (a merge, or theirs on a fast-forward), the files they changed, and
    # what changed on both sides.
    merged: str | None = None
    incoming: tuple[str, ...] = ()
    conflicts: tuple[Conflict, ...] = ()

    @property
    def failed(self) -> bool:
        return self.status not in (PushStatus.OK, PushStatus.SKIPPED)

    @classmethod
    def skipped(cls, why: str = "") -> PushResult:
        return cls(PushStatus.SKIPPED, why)


class RejectKind(enum.StrEnum):
    INVALID = "invalid"  # not well-formed, or fails its schema
    SECRET = "secret"  # a credential was found (secrets = "block")
    UNREADABLE = "unreadable"  # no permission, vanished, changing while read


@dataclass(frozen=True)
class Rejected:
    path: str
    reason: str
    kind: RejectKind

    @classmethod
    def of(cls, path: str, reason: str, content_read: bool) -> Rejected:
        if not content_read:
            kind = RejectKind.UNREADABLE
        elif reason.startswith("secret found"):
            kind = RejectKind.SECRET
        else:
            kind = RejectKind.INVALID
        return cls(path, reason, kind)


@dataclass(frozen=True)
class Failure:
    """Why a run did not get as far as a commit."""

    message: str
    exit_code: int
    locked: bool = False  # another vaultsync held the lock: not an outage by itself


@dataclass(frozen=True)
class SyncResult:
    started: datetime
    duration_s: float = 0.0
    dry_run: bool = False
    commit: str | None = None
    head: str | None = None  # HEAD after the run
    added: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    rejected: tuple[Rejected, ...] = ()
    held: tuple[str, ...] = ()  # guards that held (mass deletion, a dropped source)
    unavailable: tuple[str, ...] = ()
    unbound: tuple[str, ...] = ()  # no source is bound to this host: why, and what to do
    skipped: tuple[str, ...] = ()  # FIFOs, symlinks outside, folders that cannot be listed
    warnings: tuple[str, ...] = ()
    push: PushResult = field(default_factory=PushResult.skipped)
    failure: Failure | None = None
    forgotten: tuple[Forgotten, ...] = ()  # memory files that lost most of their memories
    memories: tuple[tuple[str, int], ...] = ()  # (vault path, memories) where counted cheaply
    files_tracked: int = 0
    files_by_source: tuple[tuple[str, int], ...] = ()  # (source, files seen) as scanned
    timings: tuple[tuple[str, float], ...] = ()

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK

    @property
    def exit_code(self) -> int:
        if self.failure is not None:
            return self.failure.exit_code
        if self.push.failed:
            return EXIT_PUSH_FAILED  # wins over 1: the commit is safe locally, the copy is not
        if self.rejected or self.held or self.unavailable or self.unbound or self.forgotten:
            return EXIT_PARTIAL
        return EXIT_OK

    @property
    def events(self) -> list[tuple[str, str]]:
        """(event, message) for each condition an alert may be sent for (SPEC "Alerts")."""
        out: list[tuple[str, str]] = []
        if self.failure is not None and not self.failure.locked:
            out.append(("sync-failed", self.failure.message))
        if self.rejected:
            out.append(("rejected", "; ".join(f"{r.path}: {r.reason}" for r in self.rejected)))
        if self.push.failed:
            out.append(("push-failed", self.push.message))
        for msg in self.held + self.unavailable + self.unbound:
            out.append(("sync-failed", msg))
        if self.forgotten:
            out.append(("forgot", "; ".join(f.message for f in self.forgotten)))
        return out

    @property
    def conflicts(self) -> tuple[Conflict, ...]:
        return self.push.conflicts

    @property
    def locked(self) -> bool:
        return self.failure is not None and self.failure.locked

    def to_json(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "added": list(self.added),
            "modified": list(self.modified),
            "deleted": list(self.deleted),
            # SPEC's shape; the kind is in the log and the alerts.
            "rejected": [{"path": r.path, "reason": r.reason} for r in self.rejected],
            "unavailable": list(self.unavailable),
            "held": list(self.held),
            "unbound": list(self.unbound),
            "pushed": self.push.status == PushStatus.OK,
            "push": {"status": str(self.push.status), "message": self.push.message},
            "merged": self.push.merged,
            "incoming": list(self.push.incoming),
            "conflicts": [c.to_json() for c in self.conflicts],
            "forgotten": [f.to_json() for f in self.forgotten],
            "error": self.failure.message if self.failure else None,
            "dry_run": self.dry_run,
            "exit_code": self.exit_code,
            "duration_s": round(self.duration_s, 3),
        }


def locked_failure(message: str) -> Failure:
    return Failure(message, EXIT_LOCKED, locked=True)
