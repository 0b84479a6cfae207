"""WHEN: a git revision, an ISO-8601 date-time, or a relative date -> one commit.

git reads unknown date text as "now"; here anything that is neither a date we
recognise nor an existing revision is an error (exit 2). So is a date no commit can
be at or before (the year 1, "99999999999 days ago"): the message names the first
and last commits' dates.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from vaultsync.errors import UsageError
from vaultsync.gitvault import GitVault

_UNITS = {
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
    "month": timedelta(days=30),
    "year": timedelta(days=365),
}
_RELATIVE = re.compile(rf"(\d+)\s+({'|'.join(_UNITS)})s?\s+ago\Z")
_ISO_START = re.compile(r"\d{4}-\d\d-\d\d")
# No commit is older than this; a date before it names no commit.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TooEarly(Exception):
    """A date so far back that no commit can be at or before it."""


def parse_date(text: str, now: datetime | None = None) -> datetime | None:
    """An aware datetime for date text (naive means local time), or None if not a date."""
    now = now or datetime.now().astimezone()
    t = text.strip().lower()
    if t == "now":
        return now
    if t == "yesterday":
        return now - timedelta(days=1)
    if t == "today":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if m := _RELATIVE.match(t):
        try:
            return now - int(m.group(1)) * _UNITS[m.group(2)]
        except OverflowError:  # before the year 1
            raise TooEarly(text) from None
    if _ISO_START.match(t):
        try:
            when = datetime.fromisoformat(text.strip())
        except ValueError:
            raise UsageError(
                f"{text!r} is not a date vaultsync understands",
                hint="use ISO 8601 such as '2026-11-20T14:00' or '2026-11-20 14:00:00+01:00'",
            ) from None
        if when.tzinfo:
            return when
        try:
            return when.astimezone()
        except (ValueError, OverflowError):  # the year 1 in a zone east of UTC
            raise TooEarly(text) from None
    return None


def resolve(gv: GitVault, text: str, ref: str = "HEAD") -> str:
    """The commit WHEN names: a date means the last commit at or before it on the
    vault's own line of history (first parents)."""
    try:
        when = parse_date(text)
    except TooEarly:
        raise _before_history(gv, text, None, ref) from None
    if when is None:
        commit = gv.resolve(text)
        if commit is None:
            raise UsageError(
                f"{text!r} is neither a commit of this vault nor a date",
                hint="give a commit id (see `vaultsync log`), an ISO date such as "
                "'2026-11-20T14:00', or '3 hours ago', '2 days ago', 'yesterday'",
            )
        return commit
    commit = gv.last_commit_before(when, ref) if when >= _EPOCH else None
    if commit is None:
        raise _before_history(gv, text, when, ref)
    return commit


def _before_history(gv: GitVault, text: str, when: datetime | None, ref: str) -> UsageError:
    first = gv.first_commit_time(ref)
    last = gv.run("log", "-1", "--format=%cI", ref, check=False).decode().strip()
    shown = f" ({when.isoformat(timespec='seconds')})" if when else ""
    if not first:
        return UsageError(f"{text!r}{shown}: the vault has no commits yet")
    return UsageError(
        f"{text!r}{shown} is before the vault's first commit ({first})",
        hint=f"the vault's history runs from {first} to {last}",
    )
