from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Env
from vaultsync.errors import UsageError
from vaultsync.when import parse_date

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("yesterday", NOW - timedelta(days=1)),
        ("3 hours ago", NOW - timedelta(hours=3)),
        ("1 hour ago", NOW - timedelta(hours=1)),
        ("2 days ago", NOW - timedelta(days=2)),
        ("10 minutes ago", NOW - timedelta(minutes=10)),
        ("2026-11-20T14:00Z", datetime(2026, 11, 20, 14, 0, tzinfo=UTC)),
        ("2026-11-20 14:00:00+01:00", datetime(2026, 11, 20, 13, 0, tzinfo=UTC)),
    ],
)
def test_dates(text: str, expected: datetime) -> None:
    assert parse_date(text, now=NOW) == expected


def test_naive_means_local_time() -> None:
    parsed = parse_date("2026-11-20T14:00", now=NOW)
    assert parsed is not None and parsed.tzinfo is not None
    assert parsed.replace(tzinfo=None) == datetime(2026, 11, 20, 14, 0)


@pytest.mark.parametrize("text", ["HEAD~3", "a1b2c3d", "main", "last tuesday"])
def test_not_dates_are_left_for_revisions(text: str) -> None:
    assert parse_date(text, now=NOW) is None


def test_a_malformed_iso_date_is_an_error_not_now() -> None:
    with pytest.raises(UsageError, match="not a date"):
        parse_date("2026-13-45T99:00", now=NOW)


@pytest.mark.parametrize(
    "at", ["1972-06-01", "1970-01-02T00:00Z", "0001-01-01", "99999999999 days ago"]
)
def test_a_date_before_any_commit_is_an_error_naming_the_history(synced: Env, at: str) -> None:
    first = synced.git("log", "--reverse", "--format=%cI").split()[0]
    for args in (["restore", "--at", at, "--dry-run"], ["export", "--at", at, "--output", "x"]):
        proc = synced.vs(*args, code=2)
        assert "before the vault's first commit" in proc.stderr
        assert first in proc.stderr
    assert not (synced.root / "x").exists()
