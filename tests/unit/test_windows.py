"""Sending windows (domain/windows.py): the next opening across DST changes,
public holidays and windows that cross midnight."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simgate.domain.policy import FRENCH_MARKETING, Window, parse_windows
from simgate.domain.windows import (
    SEARCH_DAYS,
    NeverOpens,
    is_holiday,
    is_open,
    next_opening,
    to_local,
    to_utc,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
ZONES = [
    PARIS,
    NEW_YORK,
    ZoneInfo("Asia/Kolkata"),
    ZoneInfo("Australia/Lord_Howe"),
    ZoneInfo("UTC"),
]


def local(tz: ZoneInfo, *parts: int) -> datetime:
    """Naive UTC of a local time that exists once."""
    return to_utc(datetime(*parts), tz)  # type: ignore[arg-type]


# --- explicit cases -----------------------------------------------------------------


def test_saturday_evening_waits_for_monday_morning() -> None:
    saturday_21h = local(PARIS, 2026, 4, 25, 21, 0)
    assert next_opening(FRENCH_MARKETING, None, PARIS, saturday_21h) == local(
        PARIS, 2026, 4, 27, 8, 0
    )


def test_inside_the_window_is_now() -> None:
    at = local(PARIS, 2026, 4, 27, 9, 13)
    assert next_opening(FRENCH_MARKETING, "FR", PARIS, at) == at
    assert is_open(FRENCH_MARKETING, "FR", PARIS, at)


def test_no_windows_means_any_hour() -> None:
    at = datetime(2026, 5, 1, 3, 0)
    assert next_opening((), "FR", PARIS, at) == at and is_open((), "FR", PARIS, at)


def test_a_french_holiday_is_skipped() -> None:
    # 2026-05-01 (Labour Day) is a Friday: Thursday evening waits until Saturday.
    thursday_21h = local(PARIS, 2026, 4, 30, 21, 0)
    saturday_8h = local(PARIS, 2026, 5, 2, 8, 0)
    assert next_opening(FRENCH_MARKETING, "FR", PARIS, thursday_21h) == saturday_8h
    assert next_opening(FRENCH_MARKETING, None, PARIS, thursday_21h) == local(
        PARIS, 2026, 5, 1, 8, 0
    )
    # 2026-07-14 is a Tuesday.
    assert next_opening(FRENCH_MARKETING, "FR", PARIS, local(PARIS, 2026, 7, 13, 20, 0)) == local(
        PARIS, 2026, 7, 15, 8, 0
    )


def test_holiday_monday_after_a_weekend_waits_until_tuesday() -> None:
    # Easter Monday 2026-04-06.
    saturday_21h = local(PARIS, 2026, 4, 4, 21, 0)
    assert next_opening(FRENCH_MARKETING, "FR", PARIS, saturday_21h) == local(
        PARIS, 2026, 4, 7, 8, 0
    )


def test_an_unknown_country_has_no_holidays() -> None:
    assert not is_holiday("ZZ", date(2026, 1, 1))
    assert is_holiday("fr", date(2026, 1, 1)) and is_holiday("US", date(2026, 7, 3))


def test_midnight_to_24_00_is_the_whole_day_even_across_a_dst_change() -> None:
    [weekend] = parse_windows("Sat-Sun 00:00-24:00")
    assert str(weekend) == "Sat-Sun 00:00-24:00"
    # Sunday 29 March 2026 in Paris has 23 hours; every one of them is open.
    sunday = datetime(2026, 3, 28, 23, 0)  # local midnight, in UTC
    for hour in range(23):
        assert is_open((weekend,), None, PARIS, sunday + timedelta(hours=hour))
    assert not is_open((weekend,), None, PARIS, sunday + timedelta(hours=23))  # Monday
    friday_noon = local(PARIS, 2026, 3, 27, 12, 0)
    assert next_opening((weekend,), None, PARIS, friday_noon) == local(PARIS, 2026, 3, 28, 0, 0)
    with pytest.raises(ValueError, match="open and close at once"):
        parse_windows("Mon 08:00-08:00")


def test_a_window_crossing_midnight_belongs_to_the_day_it_opened() -> None:
    late = parse_windows("Fri-Sat 22:00-02:00")
    saturday_1h = local(PARIS, 2026, 6, 13, 1, 0)  # Friday's window, still open
    assert is_open(late, None, PARIS, saturday_1h)
    sunday_1h = local(PARIS, 2026, 6, 14, 1, 0)  # Saturday's window
    assert is_open(late, None, PARIS, sunday_1h)
    monday_1h = local(PARIS, 2026, 6, 15, 1, 0)  # no Sunday window
    assert next_opening(late, None, PARIS, monday_1h) == local(PARIS, 2026, 6, 19, 22, 0)
    saturday_3h = local(PARIS, 2026, 6, 13, 3, 0)
    assert next_opening(late, None, PARIS, saturday_3h) == local(PARIS, 2026, 6, 13, 22, 0)


def test_a_holiday_rule_follows_the_day_the_window_opened() -> None:
    late = parse_windows("Mon-Sun 22:00-02:00")
    # Monday 13 July 22:00 → Tuesday 02:00 opened before the holiday: kept whole.
    assert is_open(late, "FR", PARIS, local(PARIS, 2026, 7, 14, 1, 0))
    # The window opening on the 14th is dropped, hours after midnight included.
    assert not is_open(late, "FR", PARIS, local(PARIS, 2026, 7, 14, 23, 0))
    assert not is_open(late, "FR", PARIS, local(PARIS, 2026, 7, 15, 1, 0))
    assert next_opening(late, "FR", PARIS, local(PARIS, 2026, 7, 14, 12, 0)) == local(
        PARIS, 2026, 7, 15, 22, 0
    )


def test_spring_forward_opens_at_the_first_valid_time_after() -> None:
    # Paris, 2026-03-29: 02:00 → 03:00. A window opening at 02:30 opens at 03:00.
    window = parse_windows("Sun 02:30-05:00")
    opening = next_opening(window, None, PARIS, datetime(2026, 3, 28, 12, 0))
    assert opening == datetime(2026, 3, 29, 1, 0)  # 03:00 CEST
    assert to_local(opening, PARIS) == datetime(2026, 3, 29, 3, 0)
    # New York, 2026-03-08: 02:00 → 03:00.
    opening = next_opening(window, None, NEW_YORK, datetime(2026, 3, 7, 12, 0))
    assert to_local(opening, NEW_YORK) == datetime(2026, 3, 8, 3, 0)
    # A window wholly inside the gap never opens that day: the next Sunday.
    gap = parse_windows("Sun 02:10-02:50")
    opening = next_opening(gap, None, PARIS, datetime(2026, 3, 28, 12, 0))
    assert to_local(opening, PARIS) == datetime(2026, 4, 5, 2, 10)


def test_fall_back_uses_the_first_occurrence() -> None:
    # Paris, 2026-10-25: 03:00 CEST → 02:00 CET. 02:30 happens twice.
    window = parse_windows("Sun 02:30-04:00")
    opening = next_opening(window, None, PARIS, datetime(2026, 10, 24, 12, 0))
    assert opening == datetime(2026, 10, 25, 0, 30)  # 02:30 CEST, the first one
    # New York, 2026-11-01: 01:30 happens twice.
    window = parse_windows("Sun 01:30-03:00")
    opening = next_opening(window, None, NEW_YORK, datetime(2026, 10, 31, 12, 0))
    assert opening == datetime(2026, 11, 1, 5, 30)  # 01:30 EDT
    # The window is 30 minutes longer in real time: it stays open 2.5 hours.
    assert is_open(window, None, NEW_YORK, opening + timedelta(hours=2, minutes=29))
    assert not is_open(window, None, NEW_YORK, opening + timedelta(hours=2, minutes=31))


def test_weekday_hours_across_the_dst_changes() -> None:
    office = parse_windows("Mon-Fri 09:00-17:00")
    for tz, day in ((PARIS, date(2026, 3, 30)), (PARIS, date(2026, 10, 26))):
        friday_evening = to_utc(datetime.combine(day - timedelta(days=3), time(18)), tz)
        assert to_local(next_opening(office, None, tz, friday_evening), tz) == datetime.combine(
            day, time(9)
        )
    for day in (date(2026, 3, 9), date(2026, 11, 2)):
        friday_evening = to_utc(datetime.combine(day - timedelta(days=3), time(18)), NEW_YORK)
        got = to_local(next_opening(office, None, NEW_YORK, friday_evening), NEW_YORK)
        assert got == datetime.combine(day, time(9))


def test_a_window_set_that_never_opens_raises_instead_of_looping() -> None:
    never = (Window(frozenset(), time(8), time(20)),)
    with pytest.raises(NeverOpens):
        next_opening(never, None, PARIS, datetime(2026, 1, 1))


# --- properties ---------------------------------------------------------------------------

times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
window_sets = st.lists(
    st.builds(Window, st.frozensets(st.integers(0, 6), min_size=1), times, times).filter(
        lambda w: w.start != w.end
    ),
    min_size=1,
    max_size=3,
).map(tuple)
moments = st.datetimes(datetime(2025, 1, 1), datetime(2027, 12, 31))
countries = st.sampled_from([None, "FR", "US", "DE"])
zones = st.sampled_from(ZONES)


def inside(windows: tuple[Window, ...], country: str | None, tz: ZoneInfo, at: datetime) -> bool:
    """Whether `at` is in a window, by the definition: the local wall time of
    `at` lies between a window's start and end on a day it opens, not a holiday."""
    wall = to_local(at, tz)
    for window in windows:
        for back in (0, 1):
            day = wall.date() - timedelta(days=back)
            if day.weekday() not in window.days or is_holiday(country, day):
                continue
            start = datetime.combine(day, window.start)
            end = datetime.combine(day, window.end)
            if window.end <= window.start:
                end += timedelta(days=1)
            if to_utc(start, tz) <= at < to_utc(end, tz):
                return True
    return False


@settings(max_examples=150, deadline=None)
@given(window_sets, countries, zones, moments)
def test_the_next_opening_is_the_first_moment_inside(
    windows: tuple[Window, ...], country: str | None, tz: ZoneInfo, at: datetime
) -> None:
    opening = next_opening(windows, country, tz, at)
    assert opening >= at
    assert opening - at <= timedelta(days=8 + 14)  # a week, plus a run of holidays
    assert inside(windows, country, tz, opening)
    assert not is_holiday(country, to_local(opening, tz).date()) or any(
        w.end <= w.start for w in windows
    )  # only a window opened the day before runs into a holiday
    # Nothing in between is inside: sampled every 15 minutes and just before.
    step = at
    while step < opening:
        assert not inside(windows, country, tz, step)
        step += timedelta(minutes=15)
    if opening > at:
        assert not inside(windows, country, tz, opening - timedelta(seconds=1))


@settings(max_examples=100, deadline=None)
@given(window_sets, zones, moments)
def test_is_open_agrees_with_the_definition(
    windows: tuple[Window, ...], tz: ZoneInfo, at: datetime
) -> None:
    assert is_open(windows, None, tz, at) == inside(windows, None, tz, at)


@given(zones, st.datetimes(datetime(2025, 1, 1), datetime(2027, 12, 31)))
def test_local_times_round_trip_or_move_forward(tz: ZoneInfo, wall: datetime) -> None:
    wall = wall.replace(microsecond=0)
    utc = to_utc(wall, tz)
    back = to_local(utc, tz)
    assert back >= wall  # equal, or the end of a spring-forward gap
    assert back - wall <= timedelta(hours=1)


def test_the_search_is_bounded() -> None:
    assert SEARCH_DAYS >= 366
