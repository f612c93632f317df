"""Retry schedules for webhook deliveries: pure, no clocks."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# The jitter's own generator: the server leaves the global `random` state to
# whoever embeds it (a test drawing hypothesis examples in the same process).
_JITTER = random.Random()

# A receiver may slow deliveries down with Retry-After, not park them for ever.
MAX_RETRY_AFTER = 24 * 3600.0

# Exponential, about three days in all: 15 s, 1 min, 5 min, 15 min, 1 h, 3 h,
# 6 h, then 12 h steps: 58 h in all, about 64 h with the jitter.
DEFAULT_SCHEDULE: tuple[float, ...] = (
    15,
    60,
    300,
    900,
    3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    12 * 3600,
    12 * 3600,
    12 * 3600,
)


def parse_schedule(text: str) -> list[float]:
    """Seconds before each retry from "15, 60, 300"; ValueError says what is wrong."""
    try:
        steps = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"retry schedule must be comma-separated seconds, got {text!r}") from None
    if not steps or any(not math.isfinite(step) or step < 0 for step in steps):
        raise ValueError("retry schedule needs at least one non-negative number of seconds")
    return steps


def next_delay(
    schedule: list[float] | tuple[float, ...],
    attempts: int,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait after the `attempts`-th failed attempt, or None to give up.

    Jitter of up to 10% spreads retries so that a receiver back from an outage
    is not hit by every delivery at once; a server's Retry-After is honoured
    when it asks for longer.
    """
    if attempts > len(schedule):
        return None
    delay = schedule[attempts - 1]
    delay += (rng or _JITTER).uniform(0, delay * 0.1)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date, read
    against `now`, naive UTC); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - now.replace(tzinfo=UTC).timestamp()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
