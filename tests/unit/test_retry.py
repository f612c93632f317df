"""domain/retry: the webhook retry schedule, without waiting for any of it."""

from __future__ import annotations

import random

import pytest

from simgate.domain.retry import DEFAULT_SCHEDULE, next_delay, parse_schedule


class Extreme(random.Random):
    """Jitter at its largest."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_parse_schedule_reads_comma_separated_seconds() -> None:
    assert parse_schedule("15,60,300") == [15.0, 60.0, 300.0]
    assert parse_schedule(" 0.5 , 2 ,, 1e1, ") == [0.5, 2.0, 10.0]
    assert parse_schedule("0") == [0.0]


@pytest.mark.parametrize("text", ["abc", "15,soon", "15;60", "1,2,x"])
def test_parse_schedule_names_what_is_not_a_number(text: str) -> None:
    with pytest.raises(ValueError, match="comma-separated seconds") as info:
        parse_schedule(text)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize("text", ["", " , ", "-1", "15,-5", "nan", "inf", "15,inf"])
def test_parse_schedule_refuses_empty_negative_and_endless(text: str) -> None:
    with pytest.raises(ValueError, match="at least one non-negative"):
        parse_schedule(text)


def test_next_delay_follows_the_schedule_then_gives_up() -> None:
    schedule = [10.0, 20.0, 40.0]
    no_jitter = random.Random()
    no_jitter.uniform = lambda a, b: a  # type: ignore[method-assign]
    assert [next_delay(schedule, n, rng=no_jitter) for n in (1, 2, 3)] == [10.0, 20.0, 40.0]
    assert next_delay(schedule, 4) is None
    assert next_delay(schedule, 100) is None
    assert next_delay([], 1) is None


def test_next_delay_adds_at_most_a_tenth_of_jitter() -> None:
    assert next_delay([100.0], 1, rng=Extreme()) == pytest.approx(110.0)
    rng = random.Random(7)
    delays = [next_delay([100.0], 1, rng=rng) for _ in range(200)]
    assert all(d is not None and 100.0 <= d <= 110.0 for d in delays)
    assert len(set(delays)) > 100  # spread, not one value for every delivery


def test_next_delay_honours_a_longer_retry_after_only() -> None:
    no_jitter = random.Random()
    no_jitter.uniform = lambda a, b: a  # type: ignore[method-assign]
    assert next_delay([10.0], 1, retry_after=120.0, rng=no_jitter) == 120.0
    assert next_delay([10.0], 1, retry_after=3.0, rng=no_jitter) == 10.0
    # Past the schedule the delivery is dead, whatever the receiver asks.
    assert next_delay([10.0], 2, retry_after=1.0) is None


def test_default_schedule_spans_about_three_days() -> None:
    total = sum(DEFAULT_SCHEDULE)
    assert 2 * 86400 < total * 1.1 <= 3 * 86400  # jitter adds up to a tenth
    assert list(DEFAULT_SCHEDULE) == sorted(DEFAULT_SCHEDULE)  # never shorter than before
