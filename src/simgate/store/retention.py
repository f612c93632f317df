"""Pruning queries: the oldest finished rows of the tables that grow, a batch at a time.

Each target names a table, what makes one of its rows finished, and the column
its age is read from. A batch selects the oldest due ids through an index
(migration 0004), so it costs what it deletes, not the size of the table;
PostgreSQL skips rows another node is deleting or a replay holds. What is kept
and why is in docs/retention.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, ColumnElement, Connection, Table, delete, exists, func, select

from simgate.domain.states import UNSETTLED
from simgate.store.tables import (
    dashboard_sessions,
    device_refs,
    message_events,
    messages,
    send_counts,
    webhooks,
)

# Messages still on their way: their retry events steer the dispatcher away from
# devices that failed them (services/dispatch.py), so those events stay.
IN_FLIGHT_STATES = UNSETTLED


@dataclass(frozen=True, slots=True, eq=False)  # compared by identity: columns overload ==
class Target:
    name: str
    label: str
    aged: str  # what happened before the cutoff: "delivered", "expired"...
    table: Table
    age: Column[datetime]
    finished: tuple[ColumnElement[bool], ...] = ()

    def due(self, cutoff: datetime) -> tuple[ColumnElement[bool], ...]:
        return (*self.finished, self.age < cutoff)


WEBHOOKS_DONE = Target(
    name="webhooks_done",
    label="delivered webhooks",
    aged="delivered",
    table=webhooks,
    age=webhooks.c.done_at,
    finished=(webhooks.c.state == "done",),
)
WEBHOOKS_DEAD = Target(
    name="webhooks_dead",
    label="dead webhooks",
    aged="died",
    table=webhooks,
    age=webhooks.c.done_at,
    finished=(webhooks.c.state == "dead",),
)
DEVICE_REFS = Target(
    name="device_refs",
    label="device report refs",
    aged="stored",
    table=device_refs,
    age=device_refs.c.created_at,
)
MESSAGE_EVENTS = Target(
    name="message_events",
    label="message events",
    aged="recorded",
    table=message_events,
    age=message_events.c.at,
    finished=(
        exists().where(
            messages.c.id == message_events.c.message_id,
            messages.c.state.not_in(IN_FLIGHT_STATES),
        ),
    ),
)
EXPIRED_SESSIONS = Target(
    name="dashboard_sessions",
    label="expired dashboard sessions",
    aged="expired",
    table=dashboard_sessions,
    age=dashboard_sessions.c.expires_at,
)

# One row per account per hour something was handed over, read back only for
# the caps' last 27 hours (services/dispatch_policy.COUNTS_LOOKBACK).
SEND_COUNTS = Target(
    name="send_counts",
    label="hourly send counts",
    aged="counted",
    table=send_counts,
    age=send_counts.c.hour,
)

TARGETS = (
    WEBHOOKS_DONE,
    WEBHOOKS_DEAD,
    DEVICE_REFS,
    MESSAGE_EVENTS,
    EXPIRED_SESSIONS,
    SEND_COUNTS,
)


def count_due(conn: Connection, target: Target, cutoff: datetime) -> int:
    """How many rows a prune with this cutoff would delete now."""
    query = select(func.count()).select_from(target.table).where(*target.due(cutoff))
    return int(conn.execute(query).scalar_one())


def delete_batch(conn: Connection, target: Target, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` of the oldest due rows; returns how many went."""
    table = target.table
    due = target.due(cutoff)
    if "id" not in table.c:
        # Keyed by (account, hour) and two days long once pruned: one delete.
        return int(conn.execute(delete(table).where(*due)).rowcount)
    # Oldest first: the ORDER BY keeps PostgreSQL on the index even when most
    # of the table is due (a sequential scan would wade through the rows the
    # previous batches left dead until vacuum).
    ids = select(table.c.id).where(*due).order_by(target.age).limit(limit)
    if conn.dialect.name == "postgresql":
        # Locking checks the conditions again on a row changed meanwhile (a
        # replay); SQLite has no "meanwhile" inside its one write transaction.
        ids = ids.with_for_update(skip_locked=True)
    # By id only: with the conditions repeated here SQLite walks every due row
    # of the index for each batch instead of looking up the ids.
    statement = delete(table).where(table.c.id.in_(ids.scalar_subquery()))
    return int(conn.execute(statement).rowcount)
