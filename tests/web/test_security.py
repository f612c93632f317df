"""Session secret, CSRF comparison and the sign-in limiter, without a server."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from pathlib import Path

import pytest

from simgate.config import Settings
from simgate.web.security import (
    DEVICE_COOKIE,
    DeviceCookies,
    PasswordChecks,
    SignInLimiter,
    csrf_matches,
    session_secret,
)
from tests.support.clock import ManualClock


def test_session_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = session_secret(settings)
    assert len(first) >= 48
    assert session_secret(settings) == first  # survives a restart
    assert (tmp_path / "data" / "session_secret").stat().st_mode & 0o077 == 0
    assert session_secret(Settings(data_dir=tmp_path, session_secret="configured")) == "configured"


def test_csrf_tokens_must_match_exactly() -> None:
    session = {"csrf": "abc"}
    assert csrf_matches(session, "abc")
    for wrong in (None, "", "abd", ["abc"], "abc "):
        assert not csrf_matches(session, wrong)
    assert not csrf_matches({}, "")


def test_limiter_counts_attempts_per_email_and_address() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 9, 30))
    limiter = SignInLimiter(limit=5, window=60, per_address=10, clock=clock)
    for _ in range(5):
        assert limiter.reserve("Ada@example.com", "10.0.0.1") == 0
    assert limiter.reserve("ada@example.com", "10.0.0.2") == 61  # e-mail is case-blind
    for _ in range(5):
        assert limiter.reserve("bob@example.com", "10.0.0.1") == 0
    assert limiter.reserve("carol@example.com", "10.0.0.1") > 0  # the address is spent
    clock.advance(61)
    assert limiter.reserve("ada@example.com", "10.0.0.1") == 0  # the window moved on
    limiter.succeeded("ada@example.com")
    for _ in range(5):  # a success clears the e-mail's count
        assert limiter.reserve("ada@example.com", "10.0.0.3") == 0


def test_limiter_reserves_atomically_under_a_race() -> None:
    """40 threads at once: exactly `limit` attempts get through (they were all checked before)."""
    limiter = SignInLimiter(limit=5, window=60, per_address=100)
    start = threading.Barrier(40)
    answers: list[int] = []

    def attempt() -> None:
        start.wait()
        answers.append(limiter.reserve("ada@example.com", "10.0.0.1"))

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers.count(0) == 5 and len(answers) == 40


def test_a_device_cookie_has_its_own_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    limiter = SignInLimiter(limit=5, window=60, per_address=10)
    for _ in range(5):
        limiter.reserve("ada@example.com", "10.0.0.1")
    assert limiter.reserve("ada@example.com", "10.0.0.1") > 0  # the e-mail is spent...
    for _ in range(5):  # ...not the owner's browser, nor the address for it
        assert limiter.reserve("ada@example.com", "10.0.0.1", device="n1") == 0
    assert limiter.reserve("ada@example.com", "10.0.0.9", device="n1") > 0  # its own limit
    assert limiter.reserve("ada@example.com", "10.0.0.9", device="n2") == 0
    limiter.succeeded("ada@example.com", device="n1")
    assert limiter.reserve("ada@example.com", "10.0.0.1", device="n1") == 0
    assert limiter.reserve("ada@example.com", "10.0.0.1") > 0  # the e-mail's count stays


def test_device_cookies_name_one_email_and_are_signed() -> None:
    from starlette.requests import Request
    from starlette.responses import Response

    devices = DeviceCookies("secret", secure=True)
    response = Response()
    devices.issue(response, "Ada@Example.com")
    header = response.headers["set-cookie"]
    assert "Path=/app/login" in header and "HttpOnly" in header and "Secure" in header
    value = header.split(";")[0].split("=", 1)[1]

    def request(cookie: str) -> Request:
        headers = [(b"cookie", f"{DEVICE_COOKIE}={cookie}".encode())]
        return Request({"type": "http", "headers": headers})

    nonce = devices.device(request(value), "ada@example.com")
    assert nonce and len(nonce) >= 16
    assert devices.device(request(value), "bob@example.com") is None
    assert devices.device(request(value[:-2] + "xx"), "ada@example.com") is None
    assert DeviceCookies("other", secure=True).device(request(value), "ada@example.com") is None


async def test_password_checks_run_two_at_a_time_and_turn_away_past_the_line() -> None:
    checks = PasswordChecks(slots=2, queue=3)
    running = [0]
    most = [0]
    lock = threading.Lock()
    release = threading.Event()

    def check() -> bool:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        release.wait(10)
        with lock:
            running[0] -= 1
        return True

    tasks = []
    for _ in range(5):
        assert not checks.full
        tasks.append(asyncio.create_task(checks.run(check)))
    await asyncio.sleep(0.2)
    assert checks.full  # 2 running, 3 waiting
    release.set()
    assert await asyncio.gather(*tasks) == [True] * 5
    assert most[0] == 2 and not checks.full


def test_cookies_are_secure_behind_https(tmp_path: Path) -> None:
    from starlette.responses import Response

    from simgate.app import create_app
    from simgate.runtime import runtime_of

    for overrides, secure in (
        ({}, False),
        ({"public_url": "https://sms.example.com"}, True),
        ({"secure_cookies": True}, True),
    ):
        settings = Settings(data_dir=tmp_path / "data", **overrides)
        app = create_app(settings)
        runtime = runtime_of(app)
        try:
            sessions = runtime.web.sessions
            assert sessions.secure is secure
            response = Response()
            sessions.save(response, {"csrf": "x"})
            cookie = response.headers["set-cookie"]
            assert ("Secure" in cookie) is secure
            assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/app" in cookie
        finally:
            runtime.engine.dispose()
