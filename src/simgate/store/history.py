"""Reading an account's SMS history: the messages it sent (`messages`) and the
SMS its phones received (`incoming_sms`), for v2's sms lists and lookups.

Each list reads one table newest first through its index (account + time, or
account + number + time) with a LIMIT and an optional keyset bound; the
service merges the two. Nothing here scans an account's whole history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, false, or_, select, true

from simgate.store.newest import newest_of_each
from simgate.store.tables import incoming_sms, link_clicks, message_events, messages


@dataclass(frozen=True, slots=True)
class SentRow:
    """An outbound message, as v2 lists it."""

    id: int
    id_sms_api: str
    phone_number: str
    message: str
    state: str
    segments: int
    campaign_id: int | None
    created_at: datetime
    fail_reason: str | None


@dataclass(frozen=True, slots=True)
class SentDetail:
    row: SentRow
    url: str | None
    short_code: str | None
    priority: int
    encoding: str
    send_at: datetime
    dispatched_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None


@dataclass(frozen=True, slots=True)
class ReceivedRow:
    """An SMS a phone of the account received."""

    id: int
    from_number: str
    text: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class EventRow:
    at: datetime
    state: str
    detail: str | None


@dataclass(frozen=True, slots=True)
class ClickRow:
    clicked_at: datetime
    user_agent: str | None
    is_preview: bool


@dataclass(frozen=True, slots=True)
class Bound:
    """Keyset bound of a newest-first list: only rows strictly older than the
    item (`at`, `rank`, `id`) that ended the previous page. `rank` orders the
    two tables at equal times (outbound 1, inbound 0)."""

    at: datetime
    rank: int
    id: int


OUTBOUND_RANK = 1
INBOUND_RANK = 0

_SENT = (
    messages.c.id,
    messages.c.id_sms_api,
    messages.c.phone_number,
    messages.c.message,
    messages.c.state,
    messages.c.segments,
    messages.c.campaign_id,
    messages.c.created_at,
    messages.c.fail_reason,
)
_RECEIVED = (
    incoming_sms.c.id,
    incoming_sms.c.from_number,
    incoming_sms.c.text,
    incoming_sms.c.received_at,
)


def _older(at: Any, row_id: Any, rank: int, bound: Bound | None) -> Any:
    """Rows of a table of `rank` that come after `bound` in newest-first order
    (by time, then rank, then id, each descending)."""
    if bound is None:
        return true()
    if rank == bound.rank:
        same_time = row_id < bound.id
    else:
        same_time = true() if rank < bound.rank else false()
    # `at <= bound.at` first: a range the index can seek to, however deep the page.
    return and_(at <= bound.at, or_(at < bound.at, and_(at == bound.at, same_time)))


def sent(
    conn: Connection,
    account_id: int,
    limit: int,
    phone: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    bound: Bound | None = None,
) -> list[SentRow]:
    """The account's messages, newest first (by when they were accepted)."""
    query = select(*_SENT).where(messages.c.account_id == account_id)
    if phone is not None:
        query = query.where(messages.c.phone_number == phone)
    if since is not None:
        query = query.where(messages.c.created_at >= since)
    if until is not None:
        query = query.where(messages.c.created_at < until)
    query = query.where(_older(messages.c.created_at, messages.c.id, OUTBOUND_RANK, bound))
    query = query.order_by(messages.c.created_at.desc(), messages.c.id.desc()).limit(limit)
    return [SentRow(*row) for row in conn.execute(query)]


def received(
    conn: Connection,
    account_id: int,
    limit: int,
    phones: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    bound: Bound | None = None,
) -> list[ReceivedRow]:
    """The SMS the account's phones received, newest first; `phones` are the
    spellings a phone may have reported one number in."""

    def newest(sender: str | None) -> Select[Any]:
        query = select(*_RECEIVED).where(incoming_sms.c.account_id == account_id)
        if sender is not None:
            query = query.where(incoming_sms.c.from_number == sender)
        if since is not None:
            query = query.where(incoming_sms.c.received_at >= since)
        if until is not None:
            query = query.where(incoming_sms.c.received_at < until)
        query = query.where(
            _older(incoming_sms.c.received_at, incoming_sms.c.id, INBOUND_RANK, bound)
        )
        order = (incoming_sms.c.received_at.desc(), incoming_sms.c.id.desc())
        return query.order_by(*order).limit(limit)

    query = (
        newest(None)
        if phones is None
        else newest_of_each(newest, phones, limit, time="received_at")
    )
    return [ReceivedRow(*row) for row in conn.execute(query)]


def sent_detail(conn: Connection, account_id: int, id_sms_api: str) -> SentDetail | None:
    row = conn.execute(
        select(
            *_SENT,
            messages.c.url,
            messages.c.short_code,
            messages.c.priority,
            messages.c.encoding,
            messages.c.send_at,
            messages.c.dispatched_at,
            messages.c.sent_at,
            messages.c.delivered_at,
            messages.c.failed_at,
        ).where(messages.c.account_id == account_id, messages.c.id_sms_api == id_sms_api)
    ).first()
    if row is None:
        return None
    return SentDetail(SentRow(*row[: len(_SENT)]), *row[len(_SENT) :])


def received_one(conn: Connection, account_id: int, row_id: int) -> ReceivedRow | None:
    row = conn.execute(
        select(*_RECEIVED).where(
            incoming_sms.c.account_id == account_id, incoming_sms.c.id == row_id
        )
    ).first()
    return ReceivedRow(*row) if row is not None else None


def sent_by_ids(conn: Connection, account_id: int, ids_sms_api: list[str]) -> dict[str, SentRow]:
    """The account's messages with these `id_sms_api` (at most a few hundred)."""
    if not ids_sms_api:
        return {}
    rows = conn.execute(
        select(*_SENT).where(
            messages.c.account_id == account_id, messages.c.id_sms_api.in_(ids_sms_api)
        )
    )
    return {row.id_sms_api: SentRow(*row) for row in rows}


def received_by_ids(
    conn: Connection, account_id: int, row_ids: list[int]
) -> dict[int, ReceivedRow]:
    if not row_ids:
        return {}
    rows = conn.execute(
        select(*_RECEIVED).where(
            incoming_sms.c.account_id == account_id, incoming_sms.c.id.in_(row_ids)
        )
    )
    return {row.id: ReceivedRow(*row) for row in rows}


def events(conn: Connection, message_id: int, limit: int) -> list[EventRow]:
    """A message's events, oldest first (the first `limit`)."""
    rows = conn.execute(
        select(message_events.c.at, message_events.c.state, message_events.c.detail)
        .where(message_events.c.message_id == message_id)
        .order_by(message_events.c.at, message_events.c.id)
        .limit(limit)
    )
    return [EventRow(*row) for row in rows]


def clicks(conn: Connection, message_id: int, limit: int) -> list[ClickRow]:
    """A message's latest link clicks, newest first."""
    rows = conn.execute(
        select(link_clicks.c.clicked_at, link_clicks.c.user_agent, link_clicks.c.is_preview)
        .where(link_clicks.c.message_id == message_id)
        .order_by(link_clicks.c.clicked_at.desc(), link_clicks.c.id.desc())
        .limit(limit)
    )
    return [ClickRow(*row) for row in rows]
