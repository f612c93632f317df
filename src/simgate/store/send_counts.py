"""Queries on `send_counts`: messages first handed to a phone per account and
UTC hour, for the caps (domain/caps.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from simgate.store.tables import send_counts

_c = send_counts.c


def since(
    conn: Connection, account_ids: list[int], start: datetime
) -> dict[int, dict[datetime, int]]:
    """Account id → {UTC hour → count} for the hours from `start`, in one
    query (at most a day and a half of rows per account)."""
    found: dict[int, dict[datetime, int]] = {account_id: {} for account_id in account_ids}
    if not account_ids:
        return found
    rows = conn.execute(
        select(_c.account_id, _c.hour, _c.count).where(
            _c.account_id.in_(account_ids), _c.hour >= start
        )
    )
    for account_id, hour, count in rows:
        found[account_id][hour] = count
    return found


def add(conn: Connection, account_id: int, hour: datetime, count: int) -> None:
    """`count` more messages first handed over in `hour` (one upsert)."""
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(
        send_counts
    )
    conn.execute(
        insert.values(account_id=account_id, hour=hour, count=count).on_conflict_do_update(
            index_elements=["account_id", "hour"], set_={"count": _c.count + count}
        )
    )
