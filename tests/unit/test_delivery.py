"""domain/delivery: stored states folded into the client's six statuses, and
a message's timeline."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from simgate.domain.delivery import (
    DELIVERY_STATUSES,
    delivery_status,
    describe,
    preview,
    timeline,
)
from simgate.domain.states import MESSAGE_STATES

T0 = datetime(2026, 11, 25, 10, 0, 0)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("scheduled", "pending"),
        ("queued", "pending"),
        ("dispatched", "pending"),
        ("sent", "sent"),
        ("received", "delivered"),
        ("failed", "failed"),
    ],
)
def test_each_state_has_its_status(state: str, expected: str) -> None:
    assert delivery_status(state) == expected


def test_every_stored_state_is_mapped_into_the_six() -> None:
    assert set(DELIVERY_STATUSES) == {
        "delivered", "sent", "pending", "failed", "blocked", "not_found"
    }  # fmt: skip
    for state in MESSAGE_STATES:
        assert delivery_status(state) in DELIVERY_STATUSES
        assert describe(state).endswith(".")


def test_a_failure_says_why() -> None:
    assert describe("failed", "absent subscriber") == "Not delivered: absent subscriber."
    assert describe("failed") == "Not delivered."


def test_preview_is_one_line_and_short() -> None:
    assert preview("a\nb\t c") == "a b c"
    long = preview("x" * 100)
    assert len(long) == 60 and long.endswith("...")


def test_timeline_orders_the_row_times_and_the_recorded_events() -> None:
    steps = timeline(
        T0,
        T0,
        T0 + timedelta(seconds=5),
        None,
        None,
        T0 + timedelta(seconds=9),
        "gone",
        [(T0 + timedelta(seconds=2), "retry", "radio off")],
    )
    assert [state for _, state, _ in steps] == ["queued", "retry", "dispatched", "failed"]
    assert steps[-1][2] == "gone"


def test_timeline_of_a_scheduled_delivered_message() -> None:
    later = T0 + timedelta(hours=1)
    steps = timeline(T0, later, later, later, later + timedelta(seconds=3), None, None, [])
    assert [state for _, state, _ in steps] == ["scheduled", "dispatched", "sent", "received"]


def test_a_recorded_failure_is_not_shown_twice() -> None:
    failed = T0 + timedelta(seconds=1)
    steps = timeline(T0, T0, None, None, None, failed, "x", [(failed, "failed", "x")])
    assert [state for _, state, _ in steps] == ["queued", "failed"]
