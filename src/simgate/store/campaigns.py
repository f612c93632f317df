"""Queries on `campaigns` and `campaign_recipients`, and a campaign's
messages (messages.campaign_id, index ix_messages_campaign).

Counts of a page of campaigns (messages by state, clicks, recipients) are
reads of their rollups (campaign_counts), never a query per campaign nor a
count of their messages or recipients.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from simgate.store import rollups
from simgate.store.messages import MessageRef
from simgate.store.tables import (
    campaign_recipients,
    campaigns,
    messages,
)


@dataclass(frozen=True, slots=True)
class CampaignRow:
    id: int
    name: str
    message: str
    url: str | None
    priority: int
    status: int
    list_id: int | None
    template_id: int | None
    send_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    cancelled_at: datetime | None
    completed_at: datetime | None
    recipients: int


@dataclass(frozen=True, slots=True)
class RecipientRow:
    phone_number: str
    contact_id: int | None


_COLUMNS = (
    campaigns.c.id,
    campaigns.c.name,
    campaigns.c.message,
    campaigns.c.url,
    campaigns.c.priority,
    campaigns.c.status,
    campaigns.c.list_id,
    campaigns.c.template_id,
    campaigns.c.send_at,
    campaigns.c.created_at,
    campaigns.c.started_at,
    campaigns.c.cancelled_at,
    campaigns.c.completed_at,
)


def _with_recipients(conn: Connection, rows: Sequence[Any]) -> list[CampaignRow]:
    """The rows as CampaignRows, their recipients read from the rollup in one
    query (counting campaign_recipients read every recipient of each)."""
    recipients = rollups.recipients_by_campaign(conn, [row.id for row in rows])
    return [CampaignRow(**row._mapping, recipients=recipients.get(row.id, 0)) for row in rows]


def insert_campaign(
    conn: Connection,
    account_id: int,
    values: dict[str, Any],
    numbers: list[RecipientRow],
    now: datetime,
) -> int:
    """A new campaign (name, message, url, priority, status, list_id,
    template_id, send_at in `values`) and its recipients, one executemany."""
    campaign_id = int(
        conn.execute(
            insert(campaigns)
            .values(account_id=account_id, created_at=now, **values)
            .returning(campaigns.c.id)
        ).scalar_one()
    )
    if numbers:
        conn.execute(
            insert(campaign_recipients),
            [
                {
                    "campaign_id": campaign_id,
                    "phone_number": r.phone_number,
                    "contact_id": r.contact_id,
                }
                for r in numbers
            ],
        )
    return campaign_id


def get_campaign(
    conn: Connection, account_id: int, campaign_id: int, *, lock: bool = False
) -> CampaignRow | None:
    """One campaign; with `lock`, its row locked until the transaction ends
    (PostgreSQL; SQLite has one writer anyway)."""
    query = select(*_COLUMNS).where(
        campaigns.c.id == campaign_id, campaigns.c.account_id == account_id
    )
    if lock:
        query = query.with_for_update(of=campaigns)
    row = conn.execute(query).first()
    return _with_recipients(conn, [row])[0] if row else None


def page_of_campaigns(
    conn: Connection, account_id: int, limit: int, after: tuple[datetime, int] | None
) -> list[CampaignRow]:
    """Up to `limit` campaigns, newest first, after the (created_at, id) of
    the last one shown."""
    query = select(*_COLUMNS).where(campaigns.c.account_id == account_id)
    if after is not None:
        created, last_id = after
        query = query.where(
            or_(
                campaigns.c.created_at < created,
                and_(campaigns.c.created_at == created, campaigns.c.id < last_id),
            )
        )
    query = query.order_by(campaigns.c.created_at.desc(), campaigns.c.id.desc()).limit(limit)
    return _with_recipients(conn, conn.execute(query).all())


def recipients_of(conn: Connection, campaign_id: int) -> list[RecipientRow]:
    query = (
        select(campaign_recipients.c.phone_number, campaign_recipients.c.contact_id)
        .where(campaign_recipients.c.campaign_id == campaign_id)
        .order_by(campaign_recipients.c.id)
    )
    return [RecipientRow(*row) for row in conn.execute(query)]


def states_by_campaign(conn: Connection, campaign_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """campaign id → message state → how many, for all the campaigns at once
    (from the campaign_counts rollup: store/rollups.py)."""
    return rollups.states_by_campaign(conn, campaign_ids)


def clicks_by_campaign(conn: Connection, campaign_ids: Iterable[int]) -> dict[int, int]:
    """campaign id → clicks on its messages' tracked links (previews left out),
    from the campaign_counts rollup (store/rollups.py)."""
    return rollups.clicks_by_campaign(conn, campaign_ids)


def settled_at(conn: Connection, campaign_ids: list[int]) -> dict[int, datetime | None]:
    """When each campaign's last message was sent or failed."""
    query = (
        select(
            messages.c.campaign_id,
            func.max(func.coalesce(messages.c.failed_at, messages.c.sent_at)),
        )
        .where(messages.c.campaign_id.in_(campaign_ids))
        .group_by(messages.c.campaign_id)
    )
    return {int(campaign_id): at for campaign_id, at in conn.execute(query)}


def set_status(
    conn: Connection,
    campaign_id: int,
    status: int,
    expected: Iterable[int],
    **values: Any,
) -> bool:
    """Move a campaign to `status` only from one of the `expected` states
    (a guarded UPDATE: of two concurrent starts, one wins)."""
    changed: int = conn.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign_id, campaigns.c.status.in_(list(expected)))
        .values(status=status, **values)
    ).rowcount
    return changed == 1


def mark_completed(
    conn: Connection, done: dict[int, datetime | None], sending: int, status: int
) -> None:
    for campaign_id, at in done.items():
        conn.execute(
            update(campaigns)
            .where(campaigns.c.id == campaign_id, campaigns.c.status == sending)
            .values(status=status, completed_at=at)
        )


def unsent_messages(conn: Connection, campaign_id: int) -> list[MessageRef]:
    """The campaign's messages no phone holds yet (scheduled or queued),
    locked on PostgreSQL so that no dispatcher claims them meanwhile."""
    query = (
        select(messages.c.id, messages.c.account_id, messages.c.phone_number, messages.c.id_sms_api)
        .where(
            messages.c.campaign_id == campaign_id,
            messages.c.state.in_(("scheduled", "queued")),
        )
        .with_for_update()
    )
    return [MessageRef(*row) for row in conn.execute(query)]
