"""Opening a tracked link: record the click, answer with the target url.

A click by a person also queues the account's `clics` webhook, in the same
transaction as the click row. Link-preview fetchers and HEAD requests (see
`domain/previews.py`) are redirected too, stored as previews, and send nothing.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, select

from simgate.domain import payloads
from simgate.domain.dates import utcnow
from simgate.domain.previews import is_preview
from simgate.services import outbox
from simgate.store.tables import accounts, link_clicks, messages


def open_link(
    engine: Engine, code: str, method: str, user_agent: str | None, ip: str | None
) -> str | None:
    """The url behind `code` (None if unknown); stores the click."""
    preview = is_preview(user_agent, method)
    with engine.begin() as conn:
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
        if row is None or not row.url:
            return None
        clicked_at = utcnow()
        conn.execute(
            insert(link_clicks).values(
                message_id=row.id,
                clicked_at=clicked_at,
                user_agent=(user_agent or "")[:1000],
                ip=ip,
                is_preview=preview,
            )
        )
        if not preview and row.webhook_clics:
            outbox.enqueue(
                conn,
                row.account_id,
                "clics",
                payloads.link_click(
                    row.id_sms_api,
                    row.phone_number,
                    row.url,
                    clicked_at,
                    ZoneInfo(row.timezone),
                ),
                url=row.webhook_clics,
            )
    return str(row.url)
