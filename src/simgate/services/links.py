"""Opening a tracked link: record the click, answer with the target url."""

from __future__ import annotations

from sqlalchemy import Engine, insert, select

from simgate.domain.dates import utcnow
from simgate.domain.previews import is_preview
from simgate.store.tables import link_clicks, messages


def open_link(
    engine: Engine, code: str, method: str, user_agent: str | None, ip: str | None
) -> str | None:
    """The url behind `code` (None if unknown); stores the click."""
    preview = is_preview(user_agent, method)
    with engine.begin() as conn:
        row = conn.execute(
            select(messages.c.id, messages.c.url).where(messages.c.short_code == code)
        ).first()
        if row is None or not row.url:
            return None
        conn.execute(
            insert(link_clicks).values(
                message_id=row.id,
                clicked_at=utcnow(),
                user_agent=(user_agent or "")[:1000],
                ip=ip,
                is_preview=preview,
            )
        )
    return str(row.url)
