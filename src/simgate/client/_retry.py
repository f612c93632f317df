"""When to try a call again, and how long to wait first (pure; no I/O).

A call is retried only when doing it twice cannot do harm:
- sendsms and contact are idempotent here: every message carries an
  `id_sms_api` (the client adds one) and the server answers a repeat with the
  stored result; contacts are upserts. They are retried on connection errors,
  timeouts, dropped connections and 5xx answers.
- click-to-call is not: a second request may ring the phone twice. It is
  retried only when the request certainly never reached the server (the
  connection could not be opened).
Nothing else is retried: a 4xx will not get better by asking again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

# Jitter from a generator of its own, leaving the caller's global `random` state alone.
_JITTER = random.Random()

# Failures where the request never left this machine.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures where it may have reached the server but no answer came back.
_NO_ANSWER = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 3
    backoff: float = 0.5  # first wait, in seconds; doubles each retry
    max_backoff: float = 8.0

    def delay(self, retry: int, retry_after: str | None = None) -> float:
        """Exponential back-off with jitter (so that many clients do not retry in
        step); a server's small numeric Retry-After wins."""
        if retry_after is not None and retry_after.strip().isdigit():
            return min(float(retry_after), self.max_backoff)
        base = min(self.max_backoff, self.backoff * 2.0**retry)
        return base / 2 + _JITTER.uniform(0, base / 2)

    def retry_error(self, error: Exception, attempt: int, idempotent: bool) -> bool:
        if attempt >= self.max_retries:
            return False
        return isinstance(error, _NO_ANSWER if idempotent else _NOT_SENT)

    def retry_status(self, status_code: int, attempt: int, idempotent: bool) -> bool:
        return idempotent and status_code >= 500 and attempt < self.max_retries
