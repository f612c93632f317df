"""Server-side dashboard sessions on both stores: sign-out, a new password and the
Sessions page end them; the store keeps only a hash of each browser's token."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event, select

from simgate.config import Settings
from simgate.domain.dates import utcnow
from simgate.services import sessions
from simgate.services.accounts import create_account
from simgate.services.passwords import set_password
from simgate.store.tables import dashboard_sessions
from tests.support.clock import ManualClock
from tests.support.servers import LiveServer, simgate
from tests.web.helpers import PASSWORD, csrf_of, signed_in_client


@pytest.fixture
def owner(server: LiveServer, account: dict[str, Any]) -> dict[str, Any]:
    set_password(server.engine, account["login"], PASSWORD)
    return account


def browser(stack: ExitStack, server: LiveServer, email: str, name: str) -> httpx.Client:
    """A client signed in as `email` under the User-Agent `name`."""
    client = stack.enter_context(
        httpx.Client(base_url=server.url, headers={"User-Agent": name}, timeout=30)
    )
    token = csrf_of(client.get("/app/login").text)
    answer = client.post(
        "/app/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 303, answer.text
    return client


def is_signed_in(client: httpx.Client) -> bool:
    answer = client.get("/app/keys")
    assert answer.status_code in (200, 303)
    return answer.status_code == 200


def test_sign_out_ends_the_session_even_for_a_copied_cookie(
    server: LiveServer, owner: dict[str, Any]
) -> None:
    with signed_in_client(server.url, owner["login"]) as client:
        copied = client.cookies["simgate_session"]
        out = client.post("/app/logout", data={"csrf_token": csrf_of(client.get("/app/").text)})
        assert out.status_code == 303 and out.headers["location"] == "/app/login"
    with httpx.Client(base_url=server.url, cookies={"simgate_session": copied}) as stolen:
        answer = stolen.get("/app/")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/app/login")
    with server.engine.connect() as conn:
        assert conn.execute(select(dashboard_sessions)).all() == []


def test_password_from_the_command_line_ends_every_session(
    server: LiveServer, settings: Settings, owner: dict[str, Any]
) -> None:
    with ExitStack() as stack:
        first = browser(stack, server, owner["login"], "first")
        second = browser(stack, server, owner["login"], "second")
        assert is_signed_in(first) and is_signed_in(second)
        done = simgate(
            "accounts", "password", owner["login"], "--password", "a new passphrase",
            settings=settings,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "its dashboard sessions are signed out" in done.stdout
        assert not is_signed_in(first) and not is_signed_in(second)


def test_the_owner_ends_other_browsers_from_the_sessions_page(
    server: LiveServer, owner: dict[str, Any]
) -> None:
    with ExitStack() as stack:
        mine = browser(stack, server, owner["login"], "Firefox on my laptop")
        phone = browser(stack, server, owner["login"], "Safari on my phone")
        page = mine.get("/app/sessions")
        assert page.status_code == 200
        assert "Firefox on my laptop" in page.text and "Safari on my phone" in page.text
        assert "this browser" in page.text and "127.0.0.1" in page.text
        ends = re.findall(r'action="/app/sessions/(\d+)/end"', page.text)
        assert len(ends) == 1  # the current session is not offered: that is signing out
        token = csrf_of(page.text)
        answer = mine.post(f"/app/sessions/{ends[0]}/end", data={"csrf_token": token})
        assert answer.status_code == 303
        assert not is_signed_in(phone) and is_signed_in(mine)
        # Ending a session needs the form's CSRF token, and only the account's own.
        other, _ = create_account(server.engine, "other@example.com", password_hash=None)
        foreign = sessions.start(server.engine, other.id, "theirs", "10.0.0.9")
        with server.engine.connect() as conn:
            foreign_id = conn.execute(select(dashboard_sessions.c.id).where(
                dashboard_sessions.c.token_hash == hashlib.sha256(foreign.encode()).hexdigest()
            )).scalar_one()  # fmt: skip
        assert mine.post(f"/app/sessions/{foreign_id}/end", data={}).status_code == 403
        answer = mine.post(f"/app/sessions/{foreign_id}/end", data={"csrf_token": token})
        assert answer.status_code == 404
        assert sessions.find(server.engine, foreign, "10.0.0.9") is not None

        tablet = browser(stack, server, owner["login"], "tablet")
        desktop = browser(stack, server, owner["login"], "desktop")
        answer = mine.post("/app/sessions/end-others", data={"csrf_token": token})
        assert answer.status_code == 303
        assert "Signed out everywhere else" in mine.get(answer.headers["location"]).text
        assert not is_signed_in(tablet) and not is_signed_in(desktop) and is_signed_in(mine)


class Statements:
    """Counts the SQL statements an engine runs."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.engine = engine

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self.seen)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self.seen)

    def seen(self, *args: object) -> None:
        self.count += 1


@pytest.fixture
def ada(engine: Engine) -> Iterator[int]:
    account, _ = create_account(engine, "ada@example.com")
    yield account.id


def test_sessions_store_a_token_hash_and_cost_one_query(engine: Engine, ada: int) -> None:
    clock = ManualClock(utcnow())
    token = sessions.start(engine, ada, "Firefox " + "x" * 300, "203.0.113.7", clock)
    with engine.connect() as conn:
        row = conn.execute(select(dashboard_sessions)).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
    assert len(row.user_agent) == 200 and row.ip == "203.0.113.7"
    assert row.expires_at - row.created_at == timedelta(days=14)

    with Statements(engine) as fresh:
        found = sessions.find(engine, token, "203.0.113.7", clock)
    assert found is not None and found.account.email == "ada@example.com"
    # One SELECT (session joined to its account); SQLite's BEGIN IMMEDIATE
    # goes to the driver's connection, past SQLAlchemy's statement events.
    assert fresh.count == 1
    assert sessions.find(engine, token + "x", "203.0.113.7", clock) is None

    # The visit is noted at most once a minute, with the latest address.
    clock.advance(61)
    with Statements(engine) as stale:
        sessions.find(engine, token, "198.51.100.1", clock)
    assert stale.count == fresh.count + 1
    with engine.connect() as conn:
        row = conn.execute(select(dashboard_sessions)).one()
    assert row.last_seen_at == clock.now() and row.ip == "198.51.100.1"

    # Past its 14 days a session opens nothing, and the next sign-in clears it away.
    clock.advance(14 * 24 * 3600)
    assert sessions.find(engine, token, "198.51.100.1", clock) is None
    sessions.start(engine, ada, "Firefox", "198.51.100.1", clock)
    with engine.connect() as conn:
        assert len(conn.execute(select(dashboard_sessions)).all()) == 1


def test_a_new_password_ends_every_session_in_its_transaction(engine: Engine, ada: int) -> None:
    tokens = [sessions.start(engine, ada, "b", "127.0.0.1") for _ in range(3)]
    other, _ = create_account(engine, "other@example.com")
    theirs = sessions.start(engine, other.id, "b", "127.0.0.1")
    set_password(engine, "ada@example.com", "a long new password")
    assert all(sessions.find(engine, t, "127.0.0.1") is None for t in tokens)
    assert sessions.find(engine, theirs, "127.0.0.1") is not None
