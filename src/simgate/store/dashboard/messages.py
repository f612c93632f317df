"""The Messages, message and Links pages."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, func, select

from simgate.domain.number_search import ANY_NUMBER, NumberSearch
from simgate.domain.states import MESSAGE_STATES
from simgate.store.dashboard.common import Page, columns, count_if, keyset_page
from simgate.store.tables import link_clicks, message_events, messages


@dataclass(frozen=True, slots=True)
class MessageRow:
    """A whole `messages` row."""

    id: int
    account_id: int
    id_sms_api: str
    request_hash: str
    phone_number: str
    message: str
    url: str | None
    short_code: str | None
    priority: int
    encoding: str
    segments: int
    state: str
    send_at: datetime
    created_at: datetime
    attempts: int
    handovers: int
    device_id: int | None
    lease_until: datetime | None
    dispatched_at: datetime | None
    acked_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    fail_reason: str | None


@dataclass(frozen=True, slots=True)
class EventRow:
    id: int
    message_id: int
    at: datetime
    state: str
    device_id: int | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class ClickRow:
    id: int
    message_id: int
    clicked_at: datetime
    user_agent: str | None
    ip: str | None
    is_preview: bool


_MESSAGE = columns(messages, MessageRow)


@dataclass(frozen=True, slots=True)
class LinkRow:
    id: int
    phone_number: str
    url: str
    short_code: str
    created_at: datetime
    people: int
    previews: int
    last_click: datetime | None


_NEWEST = (messages.c.created_at, messages.c.id)


def page_of_messages(
    conn: Connection,
    account_id: int,
    link: str = "",
    number: NumberSearch = ANY_NUMBER,
    state: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page:
    """The account's messages, newest first, on the page `link` points at:
    to `number` (a whole one, or numbers holding its digits), in `state` (if
    one of MESSAGE_STATES), accepted in [since, until).

    Each filter has an index that yields its rows newest first (account +
    number, account + state, account + time); only a part of a number has
    none, and each page then looks through at most SCAN_WINDOW messages."""
    query = select(*_MESSAGE).where(messages.c.account_id == account_id)
    if number.exact is not None:
        query = query.where(messages.c.phone_number == number.exact)
    if state in MESSAGE_STATES:
        query = query.where(messages.c.state == state)
    if since is not None:
        query = query.where(messages.c.created_at >= since)
    if until is not None:
        query = query.where(messages.c.created_at < until)
    sparse = None
    if number.exact is None and number.digits:
        sparse = messages.c.phone_number.contains(number.digits, autoescape=True)
    return keyset_page(conn, query, _NEWEST, link, MessageRow, sparse=sparse)


def message(conn: Connection, account_id: int, message_id: int) -> MessageRow | None:
    row = conn.execute(
        select(*_MESSAGE).where(messages.c.id == message_id, messages.c.account_id == account_id)
    ).first()
    return MessageRow(**row._mapping) if row is not None else None


def events(conn: Connection, message_id: int) -> list[EventRow]:
    rows = conn.execute(
        select(*columns(message_events, EventRow))
        .where(message_events.c.message_id == message_id)
        .order_by(message_events.c.at, message_events.c.id)
    )
    return [EventRow(**row._mapping) for row in rows]


def clicks(conn: Connection, message_id: int, limit: int) -> list[ClickRow]:
    """The message's latest clicks, newest first."""
    rows = conn.execute(
        select(*columns(link_clicks, ClickRow))
        .where(link_clicks.c.message_id == message_id)
        .order_by(link_clicks.c.clicked_at.desc())
        .limit(limit)
    )
    return [ClickRow(**row._mapping) for row in rows]


def page_of_links(conn: Connection, account_id: int, link: str = "") -> Page:
    """A page of tracked links, newest first, with clicks by people and by previews."""
    # Page the messages first (by the partial index of messages with a link),
    # then count the clicks of those 50 only: the cost does not grow with the
    # account's history.
    query = select(
        messages.c.id,
        messages.c.phone_number,
        messages.c.url,
        messages.c.short_code,
        messages.c.created_at,
    ).where(messages.c.account_id == account_id, messages.c.short_code.is_not(None))
    result = keyset_page(conn, query, _NEWEST, link, dict)
    ids = [row["id"] for row in result.rows]
    counts: dict[int, tuple[int, int, datetime | None]] = {}
    if ids:
        for message_id, people, previews, last in conn.execute(
            select(
                link_clicks.c.message_id,
                count_if(link_clicks.c.is_preview.is_(False)),
                count_if(link_clicks.c.is_preview.is_(True)),
                func.max(link_clicks.c.clicked_at),
            )
            .where(link_clicks.c.message_id.in_(ids))
            .group_by(link_clicks.c.message_id)
        ):
            counts[message_id] = (int(people), int(previews), last)
    rows = [
        LinkRow(
            r["id"],
            r["phone_number"],
            r["url"],
            r["short_code"],
            r["created_at"],
            *counts.get(r["id"], (0, 0, None)),
        )
        for r in result.rows
    ]
    return replace(result, rows=rows)
