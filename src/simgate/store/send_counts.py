"""Queries on `send_counts`: messages first handed to a phone per account and
UTC hour, for the caps (domain/caps.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select
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
    upsert = _ADD_POSTGRES if conn.dialect.name == "postgresql" else _ADD_SQLITE
    conn.execute(upsert, {"account": account_id, "at": hour, "n": count})


def _add(insert: Any) -> Any:
    """The upsert of `add`, built once per dialect (it runs at every hand-over)."""
    values = insert(send_counts).values(
        account_id=bindparam("account"), hour=bindparam("at"), count=bindparam("n")
    )
    return values.on_conflict_do_update(
        index_elements=["account_id", "hour"], set_={"count": _c.count + values.excluded["count"]}
    )


_ADD_POSTGRES = _add(postgresql.insert)
_ADD_SQLITE = _add(sqlite.insert)
