"""domain/rollups: the cut of a range into whole hours and edges, and the
figures read from counts by (state, reached)."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from simgate.domain.rollups import (
    DELIVERED,
    HOUR,
    NOT_SENT,
    SENT,
    Outcome,
    by_state,
    ceil_hour,
    floor_hour,
    outcome,
    split,
)

BASE = datetime(2026, 3, 11)
moments = st.integers(0, 6 * 3600 * 10**6).map(lambda us: BASE + timedelta(microseconds=us))
# Most ranges in tests are on round minutes: make hour boundaries likely too.
round_moments = st.integers(0, 6 * 60).map(lambda m: BASE + timedelta(minutes=m))
bounds = st.none() | moments | round_moments


def inside(moment: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or moment >= since) and (until is None or moment < until)


@given(since=bounds, until=bounds, probe=moments | round_moments)
def test_every_moment_falls_in_exactly_one_piece(
    since: datetime | None, until: datetime | None, probe: datetime
) -> None:
    pieces = split(since, until)
    ranges = list(pieces.edges) + ([pieces.whole] if pieces.whole else [])
    hits = sum(inside(probe, a, b) for a, b in ranges)
    assert hits == (1 if inside(probe, since, until) else 0)


@given(since=bounds, until=bounds)
def test_whole_hours_are_on_the_hour_and_edges_are_short(
    since: datetime | None, until: datetime | None
) -> None:
    pieces = split(since, until)
    if pieces.whole is not None:
        assert all(b is None or b == floor_hour(b) for b in pieces.whole)
        assert len(pieces.edges) <= 2
        assert all(b - a < HOUR for a, b in pieces.edges if a and b)
    else:
        assert len(pieces.edges) <= 1
        assert all(b - a < 2 * HOUR for a, b in pieces.edges if a and b)


def test_a_range_on_the_hours_needs_no_edge() -> None:
    assert split(BASE, BASE + 3 * HOUR).edges == ()
    assert split(None, None).whole == (None, None)
    assert split(BASE + HOUR, BASE).whole is None and split(BASE + HOUR, BASE).edges == ()


@given(moments)
def test_ceil_and_floor_bracket_the_moment(moment: datetime) -> None:
    assert floor_hour(moment) <= moment <= ceil_hour(moment) < floor_hour(moment) + 2 * HOUR
    assert (ceil_hour(moment) == moment) == (floor_hour(moment) == moment)


def test_outcome_counts_sent_even_when_it_failed_later() -> None:
    tally = {
        ("received", DELIVERED): 3,
        ("sent", SENT): 2,
        ("failed", SENT): 1,  # failed delivery report
        ("failed", NOT_SENT): 4,  # refused before sending
        ("expired", NOT_SENT): 1,
        ("queued", NOT_SENT): 7,
    }
    assert outcome(tally) == Outcome(sent=6, delivered=3, failed=6)
    assert by_state({**tally, ("sent", NOT_SENT): 0, ("dispatched", NOT_SENT): 0}) == {
        "received": 3,
        "sent": 2,
        "failed": 5,
        "expired": 1,
        "queued": 7,
    }
