"""Session secret, CSRF comparison and the sign-in limiter, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from simgate.config import Settings
from simgate.web import security
from simgate.web.security import SignInLimiter, csrf_matches, session_secret


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


def test_limiter_counts_failures_per_email_and_address(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(security.time, "monotonic", lambda: now[0])
    limiter = SignInLimiter(limit=5, window=60, per_address=10)
    for _ in range(5):
        assert limiter.retry_after("Ada@example.com", "10.0.0.1") == 0
        limiter.failed("Ada@example.com", "10.0.0.1")
    assert limiter.retry_after("ada@example.com", "10.0.0.2") == 61  # e-mail is case-blind
    assert limiter.retry_after("bob@example.com", "10.0.0.1") == 0
    for _ in range(5):
        limiter.failed("bob@example.com", "10.0.0.1")
    assert limiter.retry_after("carol@example.com", "10.0.0.1") > 0  # the address is spent
    now[0] += 61
    assert limiter.retry_after("ada@example.com", "10.0.0.1") == 0  # the window moved on
    limiter.failed("ada@example.com", "10.0.0.3")
    limiter.succeeded("ada@example.com")
    assert limiter.retry_after("ada@example.com", "10.0.0.4") == 0


def test_cookies_are_secure_behind_https(tmp_path: Path) -> None:
    from starlette.responses import Response

    from simgate.app import create_app

    for overrides, secure in (
        ({}, False),
        ({"public_url": "https://sms.example.com"}, True),
        ({"secure_cookies": True}, True),
    ):
        settings = Settings(data_dir=tmp_path / "data", **overrides)
        app = create_app(settings)
        try:
            sessions = app.state.web.sessions
            assert sessions.secure is secure
            response = Response()
            sessions.save(response, {"csrf": "x"})
            cookie = response.headers["set-cookie"]
            assert ("Secure" in cookie) is secure
            assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/app" in cookie
        finally:
            app.state.engine.dispose()
