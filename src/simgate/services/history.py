"""An account's SMS history, sent and received together: lists, one message
with its events and clicks, a conversation, delivery statuses.

Sync functions over the engine (reads only); v2 and the dashboard shape the
answers. Sent messages are named by their `id_sms_api` (v1's id), received
ones by `in_<row id>` (INBOUND_PREFIX), so one id names either kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Engine

from simgate.domain.delivery import Step, timeline
from simgate.domain.numbers import spellings
from simgate.store import history as store
from simgate.store.db import reading
from simgate.store.history import (
    INBOUND_RANK,
    OUTBOUND_RANK,
    Bound,
    ClickRow,
    ReceivedRow,
    SentDetail,
    SentRow,
)

INBOUND_PREFIX = "in_"
Direction = Literal["all", "inbound", "outbound"]
DETAIL_EVENTS = 100  # events and clicks shown with one message
DETAIL_CLICKS = 50


@dataclass(frozen=True, slots=True)
class Item:
    """One SMS of a list: a sent `SentRow` or a received `ReceivedRow`."""

    row: SentRow | ReceivedRow

    @property
    def at(self) -> datetime:
        return self.row.created_at if isinstance(self.row, SentRow) else self.row.received_at

    @property
    def bound(self) -> Bound:
        rank = OUTBOUND_RANK if isinstance(self.row, SentRow) else INBOUND_RANK
        return Bound(self.at, rank, self.row.id)

    def key(self) -> tuple[datetime, int, int]:
        bound = self.bound
        return (bound.at, bound.rank, bound.id)


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Item]
    has_more: bool


@dataclass(frozen=True, slots=True)
class Detail:
    """One message: sent (with its events and clicks) or received."""

    sent: SentDetail | None
    received: ReceivedRow | None
    events: list[Step]  # oldest first (domain/delivery.timeline)
    clicks: list[ClickRow]


def inbound_id(row_id: int) -> str:
    return f"{INBOUND_PREFIX}{row_id}"


def parse_inbound_id(sms_id: str) -> int | None:
    """The row id behind `in_<id>`; None when `sms_id` is not such an id."""
    if not sms_id.startswith(INBOUND_PREFIX):
        return None
    digits = sms_id[len(INBOUND_PREFIX) :]
    if not digits.isascii() or not digits.isdigit() or len(digits) > 18:
        return None
    return int(digits)


def list_sms(
    engine: Engine,
    account_id: int,
    limit: int,
    direction: Direction = "all",
    phone: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    bound: Bound | None = None,
) -> Page:
    """Sent and received SMS, newest first: the two tables each read with
    LIMIT `limit` + 1 through their index, merged, and cut to `limit`."""
    fetch = limit + 1
    items: list[Item] = []
    with reading(engine) as conn:
        if direction != "inbound":
            rows = store.sent(conn, account_id, fetch, phone, since, until, bound)
            items.extend(Item(row) for row in rows)
        if direction != "outbound":
            phones = spellings(phone) if phone is not None else None
            got = store.received(conn, account_id, fetch, phones, since, until, bound)
            items.extend(Item(row) for row in got)
    items.sort(key=Item.key, reverse=True)
    return Page(items[:limit], len(items) > limit)


def conversation(engine: Engine, account_id: int, phone: str, limit: int) -> list[Item]:
    """The last `limit` SMS with `phone`, both ways, oldest first."""
    page = list_sms(engine, account_id, limit, "all", phone)
    return list(reversed(page.items))


def detail(engine: Engine, account_id: int, sms_id: str) -> Detail | None:
    """The message named `sms_id` (sent, or received `in_<id>`), or None."""
    with reading(engine) as conn:
        inbound = parse_inbound_id(sms_id)
        if inbound is not None:
            received = store.received_one(conn, account_id, inbound)
            if received is not None:
                return Detail(None, received, [], [])
        found = store.sent_detail(conn, account_id, sms_id)
        if found is None:
            return None
        recorded = store.events(conn, found.row.id, DETAIL_EVENTS)
        clicks = store.clicks(conn, found.row.id, DETAIL_CLICKS)
    events = timeline(
        found.row.created_at,
        found.send_at,
        found.dispatched_at,
        found.sent_at,
        found.delivered_at,
        found.failed_at,
        found.row.fail_reason,
        [(e.at, e.state, e.detail) for e in recorded],
    )
    return Detail(found, None, events, clicks)


def lookup(
    engine: Engine, account_id: int, sms_ids: Iterable[str]
) -> dict[str, SentRow | ReceivedRow]:
    """sms_id → its message, for the ids that name one (two queries at most)."""
    wanted = list(dict.fromkeys(sms_ids))
    inbound = {sms_id: parse_inbound_id(sms_id) for sms_id in wanted}
    with reading(engine) as conn:
        sent = store.sent_by_ids(conn, account_id, wanted)
        got = store.received_by_ids(conn, account_id, [i for i in inbound.values() if i])
    found: dict[str, SentRow | ReceivedRow] = dict(sent)
    for sms_id, row_id in inbound.items():
        if row_id is not None and row_id in got:
            found[sms_id] = got[row_id]
    return found


__all__ = [
    "Bound",
    "ClickRow",
    "Detail",
    "Direction",
    "Item",
    "Page",
    "ReceivedRow",
    "SentDetail",
    "SentRow",
    "conversation",
    "detail",
    "inbound_id",
    "list_sms",
    "lookup",
    "parse_inbound_id",
]
