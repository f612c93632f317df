"""domain/call_log: the client's call types and durations in seconds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simgate._wire import CALL_KINDS
from simgate.domain.call_log import CALL_TYPES, KIND_OF_TYPE, call_type, duration_seconds, rate


def test_every_stored_kind_has_a_type_and_back() -> None:
    assert {call_type(kind) for kind in CALL_KINDS} == set(CALL_TYPES)
    for name in CALL_TYPES:
        assert call_type(KIND_OF_TYPE[name]) == name


@pytest.mark.parametrize(
    ("reported", "seconds"),
    [("0", 0), ("00:00:05", 5), ("00:01:10", 70), ("01:00:00", 3600), ("100:00:01", 360001)],
)
def test_durations_in_seconds(reported: str, seconds: int) -> None:
    assert duration_seconds(reported) == seconds


@given(st.text(max_size=12))
def test_any_text_gives_a_whole_number_of_seconds(text: str) -> None:
    assert duration_seconds(text) >= 0


def test_rate() -> None:
    assert rate(1, 3) == 33.3 and rate(0, 0) == 0.0 and rate(2, 2) == 100.0
