"""Dashboard sessions: one row per signed-in browser, in dashboard_sessions.

The browser's cookie holds a random token; the row holds only its SHA-256, so
a copy of the table opens no session. Signing out deletes the row, a new
password deletes all of the account's rows, and the owner ends any of them
from the Sessions page. Times are naive UTC, like everywhere in the store.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, Engine

from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.store import sessions as store
from simgate.store.accounts import Account
from simgate.store.db import reading, run_write
from simgate.store.sessions import SessionInfo

LIFETIME = timedelta(days=14)  # from sign-in; not extended by use
# last_seen_at is kept to the minute: a page load writes at most once a minute.
SEEN_EVERY = timedelta(minutes=1)
MAX_USER_AGENT = 200  # the columns' sizes
MAX_IP = 64


@dataclass(frozen=True, slots=True)
class Session:
    id: int
    account: Account


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    engine: Engine, account_id: int, user_agent: str, ip: str, clock: Clock = SYSTEM_CLOCK
) -> str:
    """Open a session; returns the token for the cookie (the store keeps its hash only)."""
    now = clock.now()
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        # The account's expired rows go here, so the table holds live sessions only.
        store.delete_expired(conn, account_id, now)
        store.insert_session(
            conn,
            account_id,
            _hash(token),
            now,
            now + LIFETIME,
            user_agent[:MAX_USER_AGENT],
            ip[:MAX_IP],
        )
    return token


def find(engine: Engine, token: str, ip: str, clock: Clock = SYSTEM_CLOCK) -> Session | None:
    """The live session of a token and its account (one query); notes the visit.

    A read beside the writer (every dashboard page passes here); the visit is
    written through the writer at most once a minute."""
    now = clock.now()
    with reading(engine) as conn:
        found = store.find_live(conn, _hash(token), now)
    if found is None:
        return None
    if now - found.last_seen_at >= SEEN_EVERY:
        run_write(engine, lambda conn: store.touch(conn, found.id, now, ip[:MAX_IP]))
    return Session(found.id, found.account)


def end(engine: Engine, token: str) -> None:
    """Sign a browser out: its token opens nothing from now on."""
    with engine.begin() as conn:
        store.delete_by_token(conn, _hash(token))


def end_one(engine: Engine, account_id: int, session_id: int) -> bool:
    """End one of the account's sessions; False when it has no such session."""
    with engine.begin() as conn:
        return store.delete_one(conn, account_id, session_id)


def end_others(engine: Engine, account_id: int, keep_id: int) -> int:
    """Sign out everywhere but session `keep_id`; returns how many sessions ended."""
    with engine.begin() as conn:
        return store.delete_others(conn, account_id, keep_id)


def end_all(conn: Connection, account_id: int) -> None:
    """Every session of the account, in the caller's transaction (a new password)."""
    store.delete_all(conn, account_id)


def list_live(engine: Engine, account_id: int, clock: Clock = SYSTEM_CLOCK) -> list[SessionInfo]:
    """The account's live sessions, the most recently seen first."""
    with reading(engine) as conn:
        return store.live(conn, account_id, clock.now())
