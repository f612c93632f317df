"""Send caps (docs/policy.md, "Caps"): how many messages an account may still
hand to phones this hour and this day. Pure, no I/O.

What counts is a message's first hand-over to a phone; a hand-over again
after an expired lease or a failed send does not count twice. The counts are
kept per UTC hour (store/send_counts.py). The hour is the current UTC hour;
the day starts at local midnight in the account's zone, taken at the start of
its UTC hour: in a zone with a half-hour offset (Asia/Kolkata, +05:30) the
hour that holds midnight counts for the new day, so up to half an hour of the
evening before counts too. A cap is never exceeded; at worst it holds a
little early.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from simgate.domain.windows import to_local, to_utc

T = TypeVar("T")


def hour_of(at: datetime) -> datetime:
    """The UTC hour `at` (naive UTC) falls in: the key of its send count."""
    return at.replace(minute=0, second=0, microsecond=0)


def day_start(at: datetime, tz: ZoneInfo) -> datetime:
    """The first UTC hour that counts for the local day of `at`."""
    midnight = datetime.combine(to_local(at, tz).date(), datetime.min.time())
    return hour_of(to_utc(midnight, tz))


def next_day_start(at: datetime, tz: ZoneInfo) -> datetime:
    """When the local day after the one of `at` starts (naive UTC, not floored)."""
    tomorrow = to_local(at, tz).date() + timedelta(days=1)
    return to_utc(datetime.combine(tomorrow, datetime.min.time()), tz)


@dataclass(frozen=True, slots=True)
class Usage:
    """Messages first handed over this UTC hour and this local day."""

    hour: int
    day: int


def usage(counts: Mapping[datetime, int], at: datetime, tz: ZoneInfo) -> Usage:
    """`counts` (UTC hour → messages) read for the hour and the local day of `at`."""
    start = day_start(at, tz)
    return Usage(
        hour=counts.get(hour_of(at), 0),
        day=sum(n for hour, n in counts.items() if start <= hour <= at),
    )


def room(hourly_cap: int | None, daily_cap: int | None, used: Usage) -> int | None:
    """How many more messages may be first handed over now; None: no cap."""
    left = [cap - n for cap, n in ((hourly_cap, used.hour), (daily_cap, used.day)) if cap]
    return max(0, min(left)) if left else None


@dataclass(frozen=True, slots=True)
class CapHold:
    """A cap reached: which one, the count, and when sending resumes (naive UTC)."""

    which: str  # "hourly" or "daily"
    used: int
    cap: int
    resumes_at: datetime


def reached(
    hourly_cap: int | None, daily_cap: int | None, used: Usage, at: datetime, tz: ZoneInfo
) -> CapHold | None:
    """The cap that holds messages at `at`, the daily one first (it holds longer)."""
    if daily_cap and used.day >= daily_cap:
        return CapHold("daily", used.day, daily_cap, next_day_start(at, tz))
    if hourly_cap and used.hour >= hourly_cap:
        return CapHold("hourly", used.hour, hourly_cap, hour_of(at) + timedelta(hours=1))
    return None


def admit(items: Sequence[T], first: Sequence[bool], left: int | None) -> tuple[list[T], int]:
    """`items` in order, keeping only the first `left` ones whose first
    hand-over it is (`first`, one flag per item); the others (hand-overs
    again) always pass. Returns (kept, how many of them are first hand-overs)."""
    kept: list[T] = []
    counted = 0
    for item, is_first in zip(items, first, strict=True):
        if is_first:
            if left is not None and counted >= left:
                continue
            counted += 1
        kept.append(item)
    return kept, counted
