"""Per-account token buckets for the v2 API (domain/rate_limit)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simgate.domain.rate_limit import RateLimiter


def test_a_burst_then_one_a_second() -> None:
    limiter = RateLimiter(per_minute=60, burst=3)
    assert [limiter.wait_for(1, 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait_for(1, 0.0) == pytest.approx(1.0)
    assert limiter.wait_for(1, 0.5) == pytest.approx(0.5)  # a refusal takes nothing
    assert limiter.wait_for(1, 1.0) == 0.0
    assert limiter.wait_for(1, 1.0) > 0


def test_accounts_have_their_own_buckets() -> None:
    limiter = RateLimiter(per_minute=60, burst=1)
    assert limiter.wait_for(1, 0.0) == 0.0
    assert limiter.wait_for(1, 0.0) > 0
    assert limiter.wait_for(2, 0.0) == 0.0


def test_zero_means_no_limit() -> None:
    limiter = RateLimiter(per_minute=0, burst=1)
    assert all(limiter.wait_for(1, 0.0) == 0.0 for _ in range(1000))


def test_full_buckets_are_forgotten() -> None:
    limiter = RateLimiter(per_minute=60, burst=1)
    for key in range(10_001):
        limiter.wait_for(key, 0.0)
    limiter.wait_for(-1, 3600.0)  # an hour later every bucket is full again
    assert len(limiter._buckets) <= 1


@given(
    st.integers(1, 10_000),
    st.integers(1, 100),
    st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=200),
)
def test_never_more_than_the_burst_plus_the_refill(
    per_minute: int, burst: int, gaps: list[float]
) -> None:
    limiter = RateLimiter(per_minute=per_minute, burst=burst)
    now, allowed = 0.0, 0
    for gap in gaps:
        now += gap
        allowed += limiter.wait_for(7, now) == 0.0
    assert allowed <= burst + now * per_minute / 60 + 1e-6
