"""Counting an account's activity over a time range (v2 stats/overview) and
reading its latest link clicks (stats/clicks).

Messages come from the hourly rollups (store/rollups.py), the rest of the
activity from store/activity.py; the COUNTs here, each over an indexed range
(received SMS by (account, received_at), clicks by (account, clicked_at)),
count the edges of a range that does not fall on the hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, true

from simgate.domain.rollups import by_state
from simgate.store import rollups
from simgate.store.tables import incoming_sms, link_clicks, messages


@dataclass(frozen=True, slots=True)
class ClickRow:
    id: int
    clicked_at: datetime
    user_agent: str | None
    is_preview: bool
    id_sms_api: str
    phone_number: str
    url: str | None


def _in_range(column: Any, since: datetime | None, until: datetime | None) -> Any:
    conditions = []
    if since is not None:
        conditions.append(column >= since)
    if until is not None:
        conditions.append(column < until)
    return and_(true(), *conditions)


def sent_by_state(
    conn: Connection, account_id: int, since: datetime | None, until: datetime | None
) -> dict[str, int]:
    """The account's messages accepted in [since, until), by state (from the
    hourly rollups, and the messages of the edge hours)."""
    return by_state(rollups.tally(conn, account_id, since, until))


def received_count(
    conn: Connection, account_id: int, since: datetime | None, until: datetime | None
) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(incoming_sms)
            .where(incoming_sms.c.account_id == account_id)
            .where(_in_range(incoming_sms.c.received_at, since, until))
        ).scalar_one()
    )


def click_counts(
    conn: Connection, account_id: int, since: datetime | None, until: datetime | None
) -> tuple[int, int]:
    """(clicks by people, by link previews) on the account's links in the range."""
    rows = conn.execute(
        select(link_clicks.c.is_preview, func.count())
        .where(link_clicks.c.account_id == account_id)
        .where(_in_range(link_clicks.c.clicked_at, since, until))
        .group_by(link_clicks.c.is_preview)
    )
    totals = {bool(preview): int(n) for preview, n in rows}
    return totals.get(False, 0), totals.get(True, 0)


def latest_clicks(
    conn: Connection,
    account_id: int,
    limit: int,
    previews: bool = False,
    bound: tuple[datetime, int] | None = None,
) -> list[ClickRow]:
    """The account's latest clicks, newest first; link previews only if `previews`."""
    query = (
        select(
            link_clicks.c.id,
            link_clicks.c.clicked_at,
            link_clicks.c.user_agent,
            link_clicks.c.is_preview,
            messages.c.id_sms_api,
            messages.c.phone_number,
            messages.c.url,
        )
        .join(messages, messages.c.id == link_clicks.c.message_id)
        .where(link_clicks.c.account_id == account_id)
    )
    if not previews:
        query = query.where(link_clicks.c.is_preview.is_(False))
    if bound is not None:
        at, last_id = bound
        clicked = link_clicks.c.clicked_at
        query = query.where(  # `<=` first: a range the index can seek to
            clicked <= at, or_(clicked < at, and_(clicked == at, link_clicks.c.id < last_id))
        )
    query = query.order_by(link_clicks.c.clicked_at.desc(), link_clicks.c.id.desc())
    return [ClickRow(*row) for row in conn.execute(query.limit(limit))]
