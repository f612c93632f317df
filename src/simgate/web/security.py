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

import hmac
import logging
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

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
    """At most `limit` failed sign-ins per e-mail and per client address in `window` s.

    Kept in memory per node: it slows guessing down, it is not an account lock
    (which would let anyone lock an owner out).
    """

    def __init__(self, limit: int = 5, window: float = 60.0, per_address: int = 10) -> None:
        self.limit = limit
        self.per_address = per_address
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, email: str, address: str) -> int:
        """Seconds to wait before another try, 0 when a try is allowed now."""
        now = time.monotonic()
        waits = []
        with self._lock:
            for key, limit in (
                ("e:" + email.lower(), self.limit),
                ("a:" + address, self.per_address),
            ):
                times = self._recent(key, now)
                if len(times) >= limit:
                    waits.append(times[0] + self.window - now)
        return int(max(waits) + 1) if waits else 0

    def failed(self, email: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in ("e:" + email.lower(), "a:" + address):
                self._recent(key, now).append(now)
            if len(self._failures) > 10_000:  # forget idle keys so memory stays bounded
                for key in [k for k, v in self._failures.items() if not self._recent(k, now)]:
                    del self._failures[key]

    def succeeded(self, email: str) -> None:
        with self._lock:
            self._failures.pop("e:" + email.lower(), None)
