"""Send caps (domain/caps.py): the hour, the local day, the room left and
which messages a claim may take."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from simgate.domain.caps import (
    CapHold,
    Usage,
    admit,
    day_start,
    hour_of,
    next_day_start,
    reached,
    room,
    usage,
)

PARIS = ZoneInfo("Europe/Paris")
KOLKATA = ZoneInfo("Asia/Kolkata")


def test_the_day_starts_at_local_midnight() -> None:
    # 2026-06-10 09:30 UTC is 11:30 in Paris (UTC+2): the day started at 22:00 UTC.
    assert day_start(datetime(2026, 6, 10, 9, 30), PARIS) == datetime(2026, 6, 9, 22, 0)
    assert next_day_start(datetime(2026, 6, 10, 9, 30), PARIS) == datetime(2026, 6, 10, 22, 0)
    # Winter: UTC+1.
    assert day_start(datetime(2026, 1, 10, 9, 30), PARIS) == datetime(2026, 1, 9, 23, 0)


def test_a_half_hour_zone_counts_the_hour_that_holds_midnight() -> None:
    # Kolkata is UTC+05:30: local midnight is 18:30 UTC, counted from 18:00 UTC.
    assert day_start(datetime(2026, 6, 10, 3, 0), KOLKATA) == datetime(2026, 6, 9, 18, 0)
    assert next_day_start(datetime(2026, 6, 10, 3, 0), KOLKATA) == datetime(2026, 6, 10, 18, 30)


def test_usage_reads_the_hour_and_the_day() -> None:
    now = datetime(2026, 6, 10, 9, 30)
    counts = {
        datetime(2026, 6, 9, 21, 0): 50,  # yesterday in Paris
        datetime(2026, 6, 9, 22, 0): 5,
        datetime(2026, 6, 10, 8, 0): 7,
        datetime(2026, 6, 10, 9, 0): 3,
    }
    assert usage(counts, now, PARIS) == Usage(hour=3, day=15)
    assert usage({}, now, PARIS) == Usage(0, 0)


def test_room_is_the_smaller_of_what_the_caps_leave() -> None:
    assert room(None, None, Usage(5, 500)) is None
    assert room(10, None, Usage(4, 500)) == 6
    assert room(None, 100, Usage(4, 98)) == 2
    assert room(10, 100, Usage(4, 98)) == 2
    assert room(10, 100, Usage(12, 98)) == 0  # never negative


def test_which_cap_holds_and_until_when() -> None:
    now = datetime(2026, 6, 10, 14, 20)
    assert reached(10, None, Usage(9, 9), now, PARIS) is None
    assert reached(10, None, Usage(10, 10), now, PARIS) == CapHold(
        "hourly", 10, 10, datetime(2026, 6, 10, 15, 0)
    )
    assert reached(10, 20, Usage(10, 20), now, PARIS) == CapHold(
        "daily", 20, 20, datetime(2026, 6, 10, 22, 0)
    )


def test_admit_takes_first_hand_overs_within_the_room_and_every_other() -> None:
    items = ["a", "b", "c", "d", "e"]
    first = [True, False, True, True, False]
    assert admit(items, first, None) == (items, 3)
    assert admit(items, first, 1) == (["a", "b", "e"], 1)
    assert admit(items, first, 0) == (["b", "e"], 0)


@given(
    st.lists(st.booleans(), max_size=40),
    st.none() | st.integers(0, 50),
)
def test_admit_never_exceeds_the_room_and_keeps_order(first: list[bool], left: int | None) -> None:
    items = list(range(len(first)))
    kept, counted = admit(items, first, left)
    assert kept == sorted(kept)
    assert counted == sum(first[i] for i in kept)
    assert left is None or counted <= left
    assert all(i in kept for i in items if not first[i])
    assert counted == (sum(first) if left is None else min(left, sum(first)))


@given(
    st.datetimes(datetime(2025, 1, 1), datetime(2027, 12, 31)),
    st.sampled_from([PARIS, KOLKATA, ZoneInfo("America/New_York"), ZoneInfo("Pacific/Kiritimati")]),
)
def test_the_day_start_is_at_most_a_day_back_and_on_the_hour(now: datetime, tz: ZoneInfo) -> None:
    start = day_start(now, tz)
    assert start == hour_of(start) and start <= now
    assert now - start < timedelta(hours=26)
    assert next_day_start(now, tz) > now
