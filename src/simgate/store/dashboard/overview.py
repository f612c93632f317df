"""The overview page's figures.

Counts are about the messages *accepted* in a period, by what became of them
("of today's 120 messages, 118 sent, 117 delivered"). They come from the hourly
rollups (store/rollups.py), plus the messages of a period's first hour when it
does not start on the hour (half-hour time zones), so the overview costs the
period's hours, never the account's history, however often it refreshes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select

from simgate.domain.rollups import outcome
from simgate.domain.states import UNSETTLED
from simgate.store import rollups
from simgate.store.dashboard.common import count_if
from simgate.store.devices import is_online
from simgate.store.tables import devices, messages

WAITING = UNSETTLED


def accepted(
    conn: Connection, account_id: int, today: datetime, week: datetime
) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(sent, delivered, failed) of the messages accepted since `today`, and since `week`."""
    of_today = outcome(rollups.tally(conn, account_id, today, None))
    of_week = outcome(rollups.tally(conn, account_id, week, None))
    return (
        (of_today.sent, of_today.delivered, of_today.failed),
        (of_week.sent, of_week.delivered, of_week.failed),
    )


def per_hour(conn: Connection, account_id: int, since: datetime) -> dict[str, tuple[int, int]]:
    """ "YYYY-MM-DD HH:00:00" (UTC) → (sent, delivered) of the messages accepted that hour."""
    hours = rollups.hourly_tally(conn, account_id, since)
    shown = {hour: outcome(counts) for hour, counts in hours.items()}
    return {
        hour.strftime("%Y-%m-%d %H:00:00"): (o.sent, o.delivered)
        for hour, o in shown.items()
        if o.sent or o.delivered
    }


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
