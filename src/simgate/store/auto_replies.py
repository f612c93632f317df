"""Queries on `auto_replies`: the last automatic reply of each kind sent to
each number of an account, so that a number gets at most one per period."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from simgate.store.tables import auto_replies


def take_turn(
    conn: Connection, account_id: int, kind: str, number: str, now: datetime, period: int
) -> bool:
    """Record a reply of `kind` to `number` at `now` unless one went out less
    than `period` seconds ago; True when this one may go. One upsert whose
    guard settles it: two reports racing for the same number cannot both win
    (the row is locked by the first until its transaction ends)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(auto_replies).values(
        account_id=account_id, kind=kind, phone_number=number, sent_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["account_id", "kind", "phone_number"],
        set_={"sent_at": stmt.excluded.sent_at},
        where=auto_replies.c.sent_at <= now - timedelta(seconds=period),
    )
    return conn.execute(stmt.returning(auto_replies.c.sent_at)).first() is not None
