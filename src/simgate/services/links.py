"""Opening a tracked link: record the click, answer with the target url.

A click by a person also queues the account's `clics` webhook, in the same
transaction as the click row. Link-preview fetchers and HEAD requests (see
`domain/previews.py`) are redirected too, stored as previews, and send nothing.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.domain import payloads
from simgate.domain.previews import is_preview
from simgate.services import outbox
from simgate.store import links as store


def open_link(
    engine: Engine,
    code: str,
    method: str,
    user_agent: str | None,
    ip: str | None,
    clock: Clock = SYSTEM_CLOCK,
) -> str | None:
    """The url behind `code` (None if unknown); stores the click."""
    preview = is_preview(user_agent, method)
    with engine.begin() as conn:
        link = store.target(conn, code)
        if link is None or not link.url:
            return None
        clicked_at = clock.now()
        store.insert_click(
            conn,
            link.account_id,
            link.message_id,
            clicked_at,
            (user_agent or "")[:1000],
            ip,
            preview,
        )
        if not preview and link.clics_url:
            outbox.enqueue(
                conn,
                link.account_id,
                "clics",
                payloads.link_click(
                    link.id_sms_api,
                    link.phone_number,
                    link.url,
                    clicked_at,
                    ZoneInfo(link.timezone),
                ),
                url=link.clics_url,
                now=clicked_at,
            )
    return link.url
