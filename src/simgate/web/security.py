"""The dashboard's session cookie, CSRF tokens and the sign-in rate limit.

The cookie is signed (itsdangerous) and holds the browser's CSRF token and,
once signed in, the token of its row in dashboard_sessions
(services/sessions.py): the row says who is signed in, so signing out or a new
password ends a session on every node at once. A visitor who is not signed in
still gets a cookie holding only a CSRF token, so the sign-in form is protected
like every other form. Nodes must share `SIMGATE_SESSION_SECRET` (or one data
dir) to read each other's cookies.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.config import Settings
from simgate.services.sessions import LIFETIME

log = logging.getLogger(__name__)

COOKIE = "simgate_session"
COOKIE_PATH = "/app"
MAX_AGE = int(LIFETIME.total_seconds())  # the cookie lasts as long as a session row
SECRET_FILE = "session_secret"


def session_secret(settings: Settings) -> str:
    """The configured secret, or one generated once and kept in the data dir."""
    if settings.session_secret:
        return settings.session_secret
    if settings.database_url:
        # Nodes on one PostgreSQL do not share a data dir: say how to share sessions.
        log.warning(
            "SIMGATE_SESSION_SECRET is not set: dashboard sessions are valid on this node only"
        )
    path = Path(settings.data_dir) / SECRET_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    secret = secrets.token_urlsafe(48)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once agree on whichever wrote first.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    except OSError as exc:  # a read-only data dir must not stop the gateway
        log.warning(
            "cannot keep the dashboard session secret in %s (%s): sessions end on restart",
            path,
            type(exc).__name__,
        )
        return secret
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret


@dataclass
class Sessions:
    """Reads and writes the session cookie."""

    secret: str
    secure: bool
    _serializer: URLSafeTimedSerializer = field(init=False)

    def __post_init__(self) -> None:
        self._serializer = URLSafeTimedSerializer(self.secret, salt="simgate.dashboard")

    def load(self, request: Request) -> dict[str, Any]:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return {}
        try:
            data = self._serializer.loads(raw, max_age=MAX_AGE)
        except BadSignature:  # tampered, expired, or signed with an older secret
            return {}
        return data if isinstance(data, dict) else {}

    def save(self, response: Response, data: dict[str, Any]) -> None:
        response.set_cookie(
            COOKIE,
            self._serializer.dumps(data),
            max_age=MAX_AGE,
            path=COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(
            COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax", secure=self.secure
        )


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(session: dict[str, Any], submitted: object) -> bool:
    expected = session.get("csrf")
    if not isinstance(expected, str) or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())


class SignInLimiter:
    """At most `limit` sign-in attempts per bucket in `window` seconds.

    An attempt is counted (reserved) before its password is checked, under a
    lock: however many arrive at once, no more than `limit` are checked. It
    counts for the e-mail and for the client address, unless the browser shows
    a device cookie for that e-mail (DeviceCookies): then it counts in that
    browser's own bucket only, so a guesser's attempts never lock the owner's
    browser out. A success clears the bucket it counted in. Kept in memory per
    node.
    """

    def __init__(
        self,
        limit: int = 5,
        window: float = 60.0,
        per_address: int = 10,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.clock = clock
        self.limit = limit
        self.per_address = per_address
        self.window = window
        self._attempts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _buckets(self, email: str, address: str, device: str | None) -> list[tuple[str, int]]:
        if device is not None:
            return [("d:" + device, self.limit)]
        return [("e:" + email.lower(), self.limit), ("a:" + address, self.per_address)]

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._attempts.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def reserve(self, email: str, address: str, device: str | None = None) -> int:
        """Count an attempt: 0 when it may go on, else seconds to wait (and nothing counted)."""
        now = self.clock.monotonic()
        with self._lock:
            buckets = [
                (self._recent(key, now), limit)
                for key, limit in self._buckets(email, address, device)
            ]
            waits = [
                times[0] + self.window - now for times, limit in buckets if len(times) >= limit
            ]
            if waits:
                return int(max(waits) + 1)
            for times, _ in buckets:
                times.append(now)
            if len(self._attempts) > 10_000:  # forget idle keys so memory stays bounded
                for key in [k for k in self._attempts if not self._recent(k, now)]:
                    del self._attempts[key]
        return 0

    def succeeded(self, email: str, device: str | None = None) -> None:
        """Clear the e-mail's bucket, or the device's (the address keeps its count)."""
        with self._lock:
            self._attempts.pop("d:" + device if device is not None else "e:" + email.lower(), None)


DEVICE_COOKIE = "simgate_device"
DEVICE_COOKIE_PATH = "/app/login"  # sent with sign-in attempts only
DEVICE_MAX_AGE = 365 * 24 * 3600


@dataclass
class DeviceCookies:
    """OWASP's "device cookies": a browser that signed in to an account is known by it.

    Each successful sign-in sets a long-lived signed cookie naming the e-mail
    and a random nonce. A later attempt for that e-mail from that browser is
    limited in the nonce's own bucket (SignInLimiter), so an attacker who spends
    the e-mail's attempts does not lock out the browsers the owner signs in from.
    """

    secret: str
    secure: bool
    _serializer: URLSafeTimedSerializer = field(init=False)

    def __post_init__(self) -> None:
        self._serializer = URLSafeTimedSerializer(self.secret, salt="simgate.device")

    def issue(self, response: Response, email: str) -> None:
        value = {"email": email.lower(), "nonce": secrets.token_urlsafe(16)}
        response.set_cookie(
            DEVICE_COOKIE,
            self._serializer.dumps(value),
            max_age=DEVICE_MAX_AGE,
            path=DEVICE_COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )

    def device(self, request: Request, email: str) -> str | None:
        """The nonce of the request's device cookie if it names `email`, else None."""
        raw = request.cookies.get(DEVICE_COOKIE)
        if not raw:
            return None
        try:
            data = self._serializer.loads(raw, max_age=DEVICE_MAX_AGE)
        except BadSignature:  # tampered, expired, or signed with an older secret
            return None
        if not isinstance(data, dict) or data.get("email") != email.lower():
            return None
        nonce = data.get("nonce")
        return nonce if isinstance(nonce, str) else None


T = TypeVar("T")


class PasswordChecks:
    """Runs password checks `slots` at a time, with at most `queue` more waiting.

    One argon2 check takes 64 MiB for about a quarter of a second (argon2-cffi's
    defaults); forty at once, the thread pool's size, took the server from
    0.5 GB to 3 GB. Past the queue a caller is told to come back (`full`)
    instead of waiting in a line without end.
    """

    def __init__(self, slots: int = 2, queue: int = 8) -> None:
        self._slots = asyncio.Semaphore(slots)
        self._room = slots + queue
        self._inside = 0

    @property
    def full(self) -> bool:
        """Whether run() would have to queue past the limit; ask right before run()."""
        return self._inside >= self._room

    async def run(self, check: Callable[..., T], *args: Any) -> T:
        # No await between `full` and here: on the event loop the count cannot move.
        self._inside += 1
        try:
            async with self._slots:
                return await run_in_threadpool(check, *args)
        finally:
            self._inside -= 1
