"""simgate.smpp.pacer: the token bucket and the pause after throttling, on a fake clock."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from simgate.smpp.pacer import Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@given(
    st.floats(min_value=0.5, max_value=500),
    st.lists(st.floats(min_value=0, max_value=0.5), min_size=1, max_size=200),
)
def test_the_token_bucket_never_lets_more_through_than_the_rate(
    tps: float, steps: list[float]
) -> None:
    clock = Clock()
    pacer = Pacer(tps, pause=1.0, clock=clock)
    granted = 0
    for step in steps:
        clock.now += step
        while pacer.delay() == 0:
            granted += 1
    elapsed = sum(steps)
    assert granted <= max(1.0, tps / 10) + tps * elapsed + 1e-6


def test_throttling_pauses_everything_and_halves_the_rate_then_recovers() -> None:
    clock = Clock()
    pacer = Pacer(100, pause=1.0, clock=clock)
    pacer.throttled()
    assert pacer.rate == 50 and pacer.delay() == 1.0
    pacer.throttled()  # again while paused: the pause grows
    assert pacer.rate == 25 and pacer.pause == 4.0
    clock.now += 2.0
    assert pacer.delay() == 0
    for _ in range(20):
        pacer.accepted()
    assert pacer.rate == 100 and pacer.pause == 1.0


def test_without_a_rate_only_the_pause_applies() -> None:
    clock = Clock()
    pacer = Pacer(None, pause=0.5, clock=clock)
    assert all(pacer.delay() == 0 for _ in range(1000))
    pacer.throttled()
    assert pacer.delay() == 0.5 and pacer.rate is None
