"""Queries on `webhooks`, the transactional outbox: rows written in the
transaction of the change that causes them, claimed and settled by the sender
(workers/webhooks.py), listed and replayed by the CLI and the dashboard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, insert, or_, select, update
from sqlalchemy.sql import Insert

from simgate.store.tables import webhooks

# Statements carrying this execution option wake the sender of this process
# (see workers/webhooks.py); other nodes find the rows on their next poll.
WAKE_OPTION = "simgate_wake_webhooks"
WAKE = {WAKE_OPTION: True}


def wakes_sender(clause: Any, options: Any) -> bool:
    """Whether a statement (clause, execution options) gives the sender work:
    new outbox rows, or one marked as a replay (WAKE)."""
    return (isinstance(clause, Insert) and clause.table is webhooks) or bool(
        options.get(WAKE_OPTION)
    )


@dataclass(frozen=True, slots=True)
class WebhookInfo:
    id: int
    event_id: str
    kind: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    done_at: datetime | None


_INFO = (
    webhooks.c.id,
    webhooks.c.event_id,
    webhooks.c.kind,
    webhooks.c.state,
    webhooks.c.attempts,
    webhooks.c.last_status,
    webhooks.c.last_error,
    webhooks.c.created_at,
    webhooks.c.next_attempt_at,
    webhooks.c.done_at,
)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row the sender claimed, with what it needs to send it."""

    id: int
    event_id: str
    account_id: int
    kind: str
    url: str
    payload: str
    attempts: int
    created_at: datetime  # when it was queued (for the delivery latency, simgate.metrics)


class Settled(Protocol):
    """The outcome of one attempt, as the sender records it."""

    @property
    def id(self) -> int: ...
    @property
    def state(self) -> str: ...  # pending (retry), done or dead
    @property
    def attempts(self) -> int: ...
    @property
    def next_attempt_at(self) -> datetime | None: ...
    @property
    def last_status(self) -> int | None: ...
    @property
    def last_error(self) -> str | None: ...


# --- writing -------------------------------------------------------------------


def insert_events(
    conn: Connection,
    account_id: int,
    kind: str,
    url: str,
    events: list[tuple[str, str]],
    now: datetime,
) -> None:
    """Queue (event id, payload JSON text) deliveries of one kind to `url`, due now."""
    conn.execute(
        insert(webhooks),
        [
            {
                "event_id": event_id,
                "account_id": account_id,
                "kind": kind,
                "url": url,
                "payload": payload,
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for event_id, payload in events
        ],
    )


# --- the sender ----------------------------------------------------------------


def claim_due(
    conn: Connection, now: datetime, limit: int, skip_urls: list[str], claimed_until: datetime
) -> list[Claimed]:
    """Claim up to `limit` due rows until `claimed_until`, in id order, in one statement.

    Due: pending, `next_attempt_at` passed, no live claim. On PostgreSQL the
    candidates are locked with SKIP LOCKED so that nodes never claim one row
    twice; SQLite's single write lock gives the same guarantee.
    """
    due = (
        webhooks.c.state == "pending",
        webhooks.c.next_attempt_at <= now,
        or_(webhooks.c.claimed_until.is_(None), webhooks.c.claimed_until < now),
    )
    ids = select(webhooks.c.id).where(*due)
    if skip_urls:
        ids = ids.where(webhooks.c.url.not_in(skip_urls))
    ids = ids.order_by(webhooks.c.next_attempt_at).limit(limit)
    if conn.dialect.name == "postgresql":
        ids = ids.with_for_update(skip_locked=True)
    claim = (
        update(webhooks)
        .where(webhooks.c.id.in_(ids.scalar_subquery()), *due)
        .values(claimed_until=claimed_until)
        .returning(
            webhooks.c.id,
            webhooks.c.event_id,
            webhooks.c.account_id,
            webhooks.c.kind,
            webhooks.c.url,
            webhooks.c.payload,
            webhooks.c.attempts,
            webhooks.c.created_at,
        )
    )
    return sorted((Claimed(*row) for row in conn.execute(claim)), key=lambda c: c.id)


def unclaim(conn: Connection, ids: list[int], pending_only: bool = False) -> None:
    """Hand claimed rows back untouched: due again for any node at once."""
    query = update(webhooks).where(webhooks.c.id.in_(ids))
    if pending_only:
        query = query.where(webhooks.c.state == "pending")
    conn.execute(query.values(claimed_until=None))


def settle(conn: Connection, outcomes: Sequence[Settled], now: datetime) -> None:
    """Record attempts' outcomes (one executemany) and drop their claims.

    A row no longer pending (a replay raced it) is left as it is.
    """
    conn.execute(
        update(webhooks)
        .where(webhooks.c.id == bindparam("b_id"), webhooks.c.state == "pending")
        .values(
            state=bindparam("b_state"),
            attempts=bindparam("b_attempts"),
            next_attempt_at=bindparam("b_next"),
            last_status=bindparam("b_status"),
            last_error=bindparam("b_error"),
            done_at=bindparam("b_done"),
            claimed_until=None,
        ),
        [
            {
                "b_id": o.id,
                "b_state": o.state,
                "b_attempts": o.attempts,
                "b_next": o.next_attempt_at or now,
                "b_status": o.last_status,
                "b_error": o.last_error,
                "b_done": now if o.state in ("done", "dead") else None,
            }
            for o in outcomes
        ],
    )


# --- the delivery log ------------------------------------------------------------


def listing(conn: Connection, account_id: int, state: str | None, limit: int) -> list[WebhookInfo]:
    """The account's deliveries (in `state` if given), newest first."""
    query = select(*_INFO).where(webhooks.c.account_id == account_id)
    if state:
        query = query.where(webhooks.c.state == state)
    query = query.order_by(webhooks.c.id.desc()).limit(limit)
    return [WebhookInfo(**row._mapping) for row in conn.execute(query)]


def info(conn: Connection, webhook_id: int) -> WebhookInfo:
    row = conn.execute(select(*_INFO).where(webhooks.c.id == webhook_id)).one()
    return WebhookInfo(**row._mapping)


def find(
    conn: Connection, ident: str, account_id: int | None = None
) -> tuple[int, int, str] | None:
    """(id, account id, kind) of a delivery by numeric id or event id (only
    the account's, if given)."""
    column = webhooks.c.id if ident.isdigit() else webhooks.c.event_id
    key: object = int(ident) if ident.isdigit() else ident
    query = select(webhooks.c.id, webhooks.c.account_id, webhooks.c.kind).where(column == key)
    if account_id is not None:
        query = query.where(webhooks.c.account_id == account_id)
    row = conn.execute(query).first()
    return (int(row.id), int(row.account_id), row.kind) if row is not None else None


def _replay_values(now: datetime) -> dict[str, Any]:
    # A fresh schedule, due now. The event id stays: a receiver that got an
    # earlier attempt can still tell it is the same event.
    return {
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "claimed_until": None,
        "done_at": None,
    }


def replay(conn: Connection, webhook_id: int, url: str, now: datetime) -> None:
    """Make one delivery due again, to `url`; wakes this node's sender at commit."""
    conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id)
        .values(url=url, **_replay_values(now))
        .execution_options(**WAKE)
    )


def _dead(account_id: int, kind: str) -> tuple[Any, ...]:
    return (
        webhooks.c.account_id == account_id,
        webhooks.c.state == "dead",
        webhooks.c.kind == kind,
    )


def count_dead(conn: Connection, account_id: int, kind: str) -> int:
    return len(conn.execute(select(webhooks.c.id).where(*_dead(account_id, kind))).all())


def replay_dead(conn: Connection, account_id: int, kind: str, url: str, now: datetime) -> int:
    """Make every dead delivery of one kind due again, to `url`; returns how many."""
    replayed: int = conn.execute(
        update(webhooks)
        .where(*_dead(account_id, kind))
        .values(url=url, **_replay_values(now))
        .execution_options(**WAKE)
    ).rowcount
    return replayed


def finished(conn: Connection, account_id: int, webhook_id: int) -> bool:
    """Whether the delivery is the account's and done or dead."""
    row = conn.execute(
        select(webhooks.c.id).where(
            webhooks.c.id == webhook_id,
            webhooks.c.account_id == account_id,
            webhooks.c.state != "pending",
        )
    ).first()
    return row is not None
