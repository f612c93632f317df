"""Queries on `dashboard_sessions`: one row per signed-in browser, found by
the hash of its cookie's token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from simgate.store.accounts import Account
from simgate.store.tables import accounts, dashboard_sessions

cols = dashboard_sessions.c


@dataclass(frozen=True, slots=True)
class LiveSession:
    id: int
    last_seen_at: datetime
    account: Account


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: int
    created_at: datetime
    last_seen_at: datetime
    user_agent: str
    ip: str


def delete_expired(conn: Connection, account_id: int, now: datetime) -> None:
    conn.execute(
        delete(dashboard_sessions).where(cols.account_id == account_id, cols.expires_at <= now)
    )


def insert_session(
    conn: Connection,
    account_id: int,
    token_hash: str,
    now: datetime,
    expires_at: datetime,
    user_agent: str,
    ip: str,
) -> None:
    conn.execute(
        insert(dashboard_sessions).values(
            account_id=account_id,
            token_hash=token_hash,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
            user_agent=user_agent,
            ip=ip,
        )
    )


def find_live(conn: Connection, token_hash: str, now: datetime) -> LiveSession | None:
    """The unexpired session of a token with its account, in one query."""
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
        .where(cols.token_hash == token_hash, cols.expires_at > now)
    ).first()
    if row is None:
        return None
    account = Account(row.account_id, row.email, row.timezone, row.region)
    return LiveSession(int(row.id), row.last_seen_at, account)


def touch(conn: Connection, session_id: int, now: datetime, ip: str) -> None:
    conn.execute(
        update(dashboard_sessions).where(cols.id == session_id).values(last_seen_at=now, ip=ip)
    )


def delete_by_token(conn: Connection, token_hash: str) -> None:
    conn.execute(delete(dashboard_sessions).where(cols.token_hash == token_hash))


def delete_one(conn: Connection, account_id: int, session_id: int) -> bool:
    ended: int = conn.execute(
        delete(dashboard_sessions).where(cols.id == session_id, cols.account_id == account_id)
    ).rowcount
    return bool(ended)


def delete_others(conn: Connection, account_id: int, keep_id: int) -> int:
    ended: int = conn.execute(
        delete(dashboard_sessions).where(cols.account_id == account_id, cols.id != keep_id)
    ).rowcount
    return ended


def delete_all(conn: Connection, account_id: int) -> None:
    conn.execute(delete(dashboard_sessions).where(cols.account_id == account_id))


def live(conn: Connection, account_id: int, now: datetime) -> list[SessionInfo]:
    """The account's unexpired sessions, the most recently seen first."""
    rows = conn.execute(
        select(cols.id, cols.created_at, cols.last_seen_at, cols.user_agent, cols.ip)
        .where(cols.account_id == account_id, cols.expires_at > now)
        .order_by(cols.last_seen_at.desc(), cols.id.desc())
    )
    return [SessionInfo(*row) for row in rows]
