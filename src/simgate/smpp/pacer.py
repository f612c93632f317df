"""How fast an SMPP link may submit: a token bucket for the agreed rate and a
pause for the whole link after the SMSC says it is throttled (smpp.md §8).
Pure, with an injectable clock; the session awaits `wait()` before each submit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Pacer:
    """Token bucket for `tps` plus the session-wide pause after throttling
    (AIMD, smpp.md §8): a throttled answer halves the rate and pauses every
    submit for `pause`, which doubles up to 30 s; each accepted submit adds a
    tenth of the configured rate back and resets the pause. Without `tps`
    only the pause applies (the window still bounds the flow)."""

    MAX_PAUSE = 30.0

    def __init__(
        self, tps: float | None, pause: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_rate = tps
        self.rate = tps
        self.first_pause = self.pause = pause
        self.paused_until = 0.0
        self.clock = clock
        self.tokens = 1.0
        self.updated = clock()

    def delay(self) -> float:
        """Seconds to wait before the next submit may go; 0 takes a token."""
        now = self.clock()
        if now < self.paused_until:
            return self.paused_until - now
        if self.rate is None:
            return 0.0
        burst = max(1.0, self.rate / 10)
        self.tokens = min(burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    async def wait(self) -> None:
        while (seconds := self.delay()) > 0:
            await asyncio.sleep(seconds)

    def throttled(self) -> None:
        self.paused_until = max(self.paused_until, self.clock() + self.pause)
        self.pause = min(self.pause * 2, self.MAX_PAUSE)
        if self.rate is not None:
            self.rate = max(self.rate / 2, 0.1)

    def accepted(self) -> None:
        self.pause = self.first_pause
        if self.rate is not None and self.max_rate is not None:
            self.rate = min(self.max_rate, self.rate + self.max_rate / 10)
