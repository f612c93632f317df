"""The Webhooks page's delivery log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from simgate.domain.states import DELIVERY_STATES
from simgate.store.dashboard.common import Page, columns, keyset_page
from simgate.store.tables import webhooks


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: int
    event_id: str
    kind: str
    url: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    created_at: datetime
    done_at: datetime | None


def page_of_deliveries(conn: Connection, account_id: int, state: str, link: str = "") -> Page:
    """The account's deliveries, newest first; only those in `state` if it is
    one of DELIVERY_STATES (account + time, or account + state + time index)."""
    query = select(*columns(webhooks, DeliveryRow)).where(webhooks.c.account_id == account_id)
    if state in DELIVERY_STATES:
        query = query.where(webhooks.c.state == state)
    key = (webhooks.c.created_at, webhooks.c.id)
    return keyset_page(conn, query, key, link, DeliveryRow)
