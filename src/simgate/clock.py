"""The time as simgate reads it: one injectable clock for services and workers.

`now()` is wall time as the store keeps it (naive UTC); `monotonic()` measures
intervals (rates, polls, back-off) and never jumps. The runtime holds one
clock; tests hand in their own and move it forward instead of sleeping.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Protocol

from simgate.domain.dates import utcnow


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, naive UTC (the store's convention)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that only moves forward."""
        ...


class SystemClock:
    """The machine's clocks."""

    def now(self) -> datetime:
        return utcnow()

    def monotonic(self) -> float:
        return time.monotonic()


SYSTEM_CLOCK: Clock = SystemClock()
