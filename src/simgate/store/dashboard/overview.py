"""The overview page's figures.

Counts are about the messages *accepted* in a period, by what became of them
("of today's 120 messages, 118 sent, 117 delivered"). That reading is served by
the (account_id, created_at) index, so the overview costs the period's rows,
never the account's whole history, however often it refreshes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from simgate.domain.states import UNSETTLED
from simgate.store.dashboard.common import count_if
from simgate.store.devices import is_online
from simgate.store.tables import devices, messages

WAITING = UNSETTLED


def _flags() -> tuple[Any, Any, Any]:
    sent = or_(messages.c.sent_at.is_not(None), messages.c.delivered_at.is_not(None))
    return sent, messages.c.delivered_at.is_not(None), messages.c.state.in_(("failed", "expired"))


def _hour(conn: Connection, column: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM-DD HH24:00:00")
    return func.strftime("%Y-%m-%d %H:00:00", column)


def accepted(
    conn: Connection, account_id: int, today: datetime, week: datetime
) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(sent, delivered, failed) of the messages accepted since `today`, and since `week`."""
    sent, delivered, failed = _flags()
    is_today = messages.c.created_at >= today
    row = conn.execute(
        select(
            count_if(and_(is_today, sent)),
            count_if(and_(is_today, delivered)),
            count_if(and_(is_today, failed)),
            count_if(sent),
            count_if(delivered),
            count_if(failed),
        ).where(messages.c.account_id == account_id, messages.c.created_at >= week)
    ).one()
    a, b, c, d, e, f = (int(v) for v in row)
    return (a, b, c), (d, e, f)


def per_hour(conn: Connection, account_id: int, since: datetime) -> dict[str, tuple[int, int]]:
    """ "YYYY-MM-DD HH:00:00" (UTC) → (sent, delivered) of the messages accepted that hour."""
    sent, delivered, _ = _flags()
    hour = _hour(conn, messages.c.created_at).label("hour")
    rows = conn.execute(
        select(hour, count_if(sent), count_if(delivered))
        .where(messages.c.account_id == account_id, messages.c.created_at >= since)
        .group_by(hour)
    )
    return {key: (int(s), int(d)) for key, s, d in rows}


def waiting(conn: Connection, account_id: int, cap: int) -> int:
    """Messages scheduled, queued or dispatched now, counted up to `cap` + 1."""
    # A backlog can be large (no phone online for a day): count up to a cap.
    backlog = (
        select(messages.c.id)
        .where(messages.c.account_id == account_id, messages.c.state.in_(WAITING))
        .limit(cap + 1)
        .subquery()
    )
    return int(conn.execute(select(func.count()).select_from(backlog)).scalar_one())


def phones(conn: Connection, account_id: int, seen_after: datetime) -> tuple[int, int]:
    """(online, paired) devices of the account; online means seen after `seen_after`."""
    online, total = conn.execute(
        select(
            count_if(is_online(seen_after)),
            func.count(),
        ).where(devices.c.account_id == account_id, devices.c.removed_at.is_(None))
    ).one()
    return int(online), int(total)
