"""Retry-After as receivers send it: seconds or an HTTP date."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from simgate.domain.retry import MAX_RETRY_AFTER, parse_retry_after

NOW = datetime(2026, 3, 2, 9, 30)  # naive UTC, as the clock gives it


def http_date(seconds_from_now: float) -> str:
    when = NOW.replace(tzinfo=UTC).timestamp() + seconds_from_now
    return format_datetime(datetime.fromtimestamp(when, UTC), usegmt=True)


def test_seconds_and_dates() -> None:
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after(" 1.5 ", NOW) == 1.5
    assert parse_retry_after(http_date(60), NOW) == 60
    assert parse_retry_after(http_date(-60), NOW) == 0  # past: now


@pytest.mark.parametrize("value", [None, "", "soon", "nan", "Mon, 99 Foo 2026", "-"])
def test_bad_values_are_ignored(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


def test_negative_and_huge_values_are_bounded() -> None:
    assert parse_retry_after("-5", NOW) == 0
    assert parse_retry_after("99999999", NOW) == MAX_RETRY_AFTER
