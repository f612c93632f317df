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
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, insert, select, update

from simgate.domain.dates import utcnow
from simgate.services.accounts import Account
from simgate.store.tables import accounts, dashboard_sessions

LIFETIME = timedelta(days=14)  # from sign-in; not extended by use
# last_seen_at is kept to the minute: a page load writes at most once a minute.
SEEN_EVERY = timedelta(minutes=1)
MAX_USER_AGENT = 200  # the columns' sizes
MAX_IP = 64

cols = dashboard_sessions.c


@dataclass(frozen=True, slots=True)
class Session:
    id: int
    account: Account


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(engine: Engine, account_id: int, user_agent: str, ip: str) -> str:
    """Open a session; returns the token for the cookie (the store keeps its hash only)."""
    now = utcnow()
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        # The account's expired rows go here, so the table holds live sessions only.
        conn.execute(
            delete(dashboard_sessions).where(cols.account_id == account_id, cols.expires_at <= now)
        )
        conn.execute(
            insert(dashboard_sessions).values(
                account_id=account_id,
                token_hash=_hash(token),
                created_at=now,
                last_seen_at=now,
                expires_at=now + LIFETIME,
                user_agent=user_agent[:MAX_USER_AGENT],
                ip=ip[:MAX_IP],
            )
        )
    return token


def find(engine: Engine, token: str, ip: str) -> Session | None:
    """The live session of a token and its account (one query); notes the visit."""
    now = utcnow()
    with engine.begin() as conn:
        row = conn.execute(
            select(
                cols.id,
                cols.last_seen_at,
                accounts.c.id.label("account_id"),
                accounts.c.email,
                accounts.c.timezone,
                accounts.c.region,
            )
            .join(accounts, accounts.c.id == cols.account_id)
            .where(cols.token_hash == _hash(token), cols.expires_at > now)
        ).first()
        if row is None:
            return None
        if now - row.last_seen_at >= SEEN_EVERY:
            conn.execute(
                update(dashboard_sessions)
                .where(cols.id == row.id)
                .values(last_seen_at=now, ip=ip[:MAX_IP])
            )
    return Session(int(row.id), Account(row.account_id, row.email, row.timezone, row.region))


def end(engine: Engine, token: str) -> None:
    """Sign a browser out: its token opens nothing from now on."""
    with engine.begin() as conn:
        conn.execute(delete(dashboard_sessions).where(cols.token_hash == _hash(token)))


def end_one(engine: Engine, account_id: int, session_id: int) -> bool:
    """End one of the account's sessions; False when it has no such session."""
    with engine.begin() as conn:
        ended = conn.execute(
            delete(dashboard_sessions).where(cols.id == session_id, cols.account_id == account_id)
        ).rowcount
    return bool(ended)


def end_others(engine: Engine, account_id: int, keep_id: int) -> int:
    """Sign out everywhere but session `keep_id`; returns how many sessions ended."""
    with engine.begin() as conn:
        ended: int = conn.execute(
            delete(dashboard_sessions).where(cols.account_id == account_id, cols.id != keep_id)
        ).rowcount
    return ended


def end_all(conn: Connection, account_id: int) -> None:
    """Every session of the account, in the caller's transaction (a new password)."""
    conn.execute(delete(dashboard_sessions).where(cols.account_id == account_id))


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: int
    created_at: datetime
    last_seen_at: datetime
    user_agent: str
    ip: str


def list_live(engine: Engine, account_id: int) -> list[SessionInfo]:
    """The account's live sessions, the most recently seen first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(cols.id, cols.created_at, cols.last_seen_at, cols.user_agent, cols.ip)
            .where(cols.account_id == account_id, cols.expires_at > utcnow())
            .order_by(cols.last_seen_at.desc(), cols.id.desc())
        )
        return [SessionInfo(*row) for row in rows]
