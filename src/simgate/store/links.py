"""Queries behind tracked short links: the message a code names, and its clicks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from simgate.store.tables import accounts, link_clicks, messages


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """The message behind a short code, and what its `clics` webhook needs."""

    message_id: int
    url: str | None
    account_id: int
    id_sms_api: str
    phone_number: str
    timezone: str
    clics_url: str | None  # the account's `clics` callback URL


def target(conn: Connection, code: str) -> LinkTarget | None:
    row = conn.execute(
        select(
            messages.c.id,
            messages.c.url,
            messages.c.account_id,
            messages.c.id_sms_api,
            messages.c.phone_number,
            accounts.c.timezone,
            accounts.c.webhook_clics,
        )
        .join(accounts, accounts.c.id == messages.c.account_id)
        .where(messages.c.short_code == code)
    ).first()
    return LinkTarget(*row) if row is not None else None


def insert_click(
    conn: Connection,
    account_id: int,
    message_id: int,
    at: datetime,
    user_agent: str,
    ip: str | None,
    is_preview: bool,
) -> None:
    conn.execute(
        insert(link_clicks).values(
            account_id=account_id,
            message_id=message_id,
            clicked_at=at,
            user_agent=user_agent,
            ip=ip,
            is_preview=is_preview,
        )
    )
