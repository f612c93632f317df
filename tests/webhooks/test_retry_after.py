"""Retry-After as receivers send it: seconds or an HTTP date."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from simgate.workers.webhooks import MAX_RETRY_AFTER, parse_retry_after


def test_seconds_and_dates() -> None:
    assert parse_retry_after("120") == 120
    assert parse_retry_after(" 1.5 ") == 1.5
    in_a_minute = formatdate(time.time() + 60, usegmt=True)
    assert 55 <= (parse_retry_after(in_a_minute) or 0) <= 61
    assert parse_retry_after(formatdate(time.time() - 60, usegmt=True)) == 0  # past: now


@pytest.mark.parametrize("value", [None, "", "soon", "nan", "Mon, 99 Foo 2026", "-"])
def test_bad_values_are_ignored(value: str | None) -> None:
    assert parse_retry_after(value) is None


def test_negative_and_huge_values_are_bounded() -> None:
    assert parse_retry_after("-5") == 0
    assert parse_retry_after("99999999") == MAX_RETRY_AFTER
