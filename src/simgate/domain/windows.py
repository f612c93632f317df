"""Sending windows (quiet hours): when a windowed message may leave. Pure, no I/O.

A window (domain/policy.Window) opens on each of its days at `start` and
closes at `end`, local time of the account; `end` <= `start` crosses midnight
and the hours after midnight belong to the day the window opened. The rules
the arithmetic follows (docs/policy.md, "Quiet hours"):

- holidays: with a country, no window opens on one of its public holidays (the
  `holidays` library); a window that crosses midnight follows the day it
  opened: Sunday 22:00-02:00 before a holiday Monday is kept whole, one
  opening on the holiday is dropped whole, hours after midnight included;
- DST, spring forward: a local time that does not exist (02:30 in Paris on the
  last Sunday of March) means the first valid local time after it (03:00);
- DST, fall back: a local time that happens twice means its first occurrence;
- a window set that never opens (days that no window names) is searched for
  SEARCH_DAYS days, then `NeverOpens` is raised instead of looping: the policy
  checks (domain/policy.checked) keep such sets out of the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from simgate.domain.policy import Window

# Far beyond any real gap (a week, plus every public holiday of any country).
SEARCH_DAYS = 400


class NeverOpens(ValueError):
    """No window opens within SEARCH_DAYS days."""


# --- local time ↔ naive UTC --------------------------------------------------------------


def to_local(at: datetime, tz: ZoneInfo) -> datetime:
    """Naive local time in `tz` of the naive UTC `at`."""
    return at.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)


def _utc(local: datetime, tz: ZoneInfo, fold: int) -> datetime:
    return local.replace(tzinfo=tz, fold=fold).astimezone(UTC).replace(tzinfo=None)


def to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """Naive UTC of the naive local time `local` in `tz`: its first occurrence
    when it happens twice (fall back), the first valid local time after it
    when it does not exist (spring forward)."""
    first = _utc(local, tz, 0)
    if to_local(first, tz) == local:
        return first
    # In a gap: fold=1 maps it before the jump and fold=0 after; the jump
    # itself (the first valid local time after it) lies between the two.
    low, high = sorted((_utc(local, tz, 1), first))
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if to_local(middle, tz) >= local:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


# --- holidays --------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def holidays_of(country: str, year: int) -> frozenset[date]:
    """The public holidays of `country` (ISO 3166 code) in `year`; none for a
    country the library does not know."""
    import holidays  # a large package: loaded the first time an account skips holidays

    try:
        found = holidays.country_holidays(country.upper(), years=year)
    except NotImplementedError:
        return frozenset()
    return frozenset(found.keys())


def is_holiday(country: str | None, day: date) -> bool:
    return country is not None and day in holidays_of(country, day.year)


# --- windows ---------------------------------------------------------------------------------


def _spans(
    windows: tuple[Window, ...], country: str | None, tz: ZoneInfo, first_day: date, days: int
) -> Iterator[tuple[datetime, datetime]]:
    """(opens, closes) in naive UTC of every window opening on the `days` local
    days from `first_day`, in order of opening; empty spans (a window inside a
    spring-forward gap) are left out."""
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        if is_holiday(country, day):
            continue
        spans = []
        for window in windows:
            if day.weekday() not in window.days:
                continue
            start = datetime.combine(day, window.start)
            end = datetime.combine(day, window.end)
            if window.end <= window.start:
                end += timedelta(days=1)
            opens, closes = to_utc(start, tz), to_utc(end, tz)
            if opens < closes:
                spans.append((opens, closes))
        yield from sorted(spans)


def next_opening(
    windows: tuple[Window, ...], country: str | None, tz: ZoneInfo, at: datetime
) -> datetime:
    """The first moment at or after `at` (naive UTC) inside one of `windows`
    (local time in `tz`), skipping the public holidays of `country` when it is
    given; `at` itself when it is inside one, or when there are no windows.
    Raises NeverOpens when no window opens within SEARCH_DAYS days."""
    if not windows:
        return at
    return _next_opening(windows, country, tz, at)


@lru_cache(maxsize=1024)  # a campaign asks the same question once per message
def _next_opening(
    windows: tuple[Window, ...], country: str | None, tz: ZoneInfo, at: datetime
) -> datetime:
    # From the day before: a window that crossed midnight may still be open.
    first_day = to_local(at, tz).date() - timedelta(days=1)
    for opens, closes in _spans(windows, country, tz, first_day, SEARCH_DAYS + 1):
        if closes > at:
            return max(opens, at)
    raise NeverOpens(f"no sending window opens within {SEARCH_DAYS} days")


def is_open(windows: tuple[Window, ...], country: str | None, tz: ZoneInfo, at: datetime) -> bool:
    """Whether a windowed message may leave at `at` (naive UTC)."""
    return next_opening(windows, country, tz, at) == at
