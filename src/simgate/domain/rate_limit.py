"""Per-key token buckets: how often each account may call the v2 API.

Pure: the caller passes the time (a monotonic clock reading, in seconds). A
bucket holds up to `burst` requests and refills at `per_minute` / 60 a second;
buckets full again are forgotten, so memory follows the active accounts only.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    per_minute: int  # 0: no limit
    burst: int
    _buckets: dict[int, tuple[float, float]] = field(default_factory=dict)  # key → (tokens, at)

    def wait_for(self, key: int, now: float) -> float:
        """Take one request's token for `key`: 0.0 when allowed, else the
        seconds until a token is back (nothing is taken)."""
        if self.per_minute <= 0:
            return 0.0
        rate = self.per_minute / 60.0
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > 10_000:
            self._forget_full(now, rate)
        return 0.0

    def _forget_full(self, now: float, rate: float) -> None:
        full = [
            key
            for key, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]
