"""Queries on `templates`: an account's message templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, update

from simgate.store.tables import templates


@dataclass(frozen=True, slots=True)
class TemplateRow:
    id: int
    name: str
    message: str
    created_at: datetime
    updated_at: datetime


_COLUMNS = (
    templates.c.id,
    templates.c.name,
    templates.c.message,
    templates.c.created_at,
    templates.c.updated_at,
)


def insert_template(
    conn: Connection, account_id: int, name: str, message: str, now: datetime
) -> TemplateRow:
    new_id = conn.execute(
        insert(templates)
        .values(account_id=account_id, name=name, message=message, created_at=now, updated_at=now)
        .returning(templates.c.id)
    ).scalar_one()
    return TemplateRow(int(new_id), name, message, now, now)


def get_template(conn: Connection, account_id: int, template_id: int) -> TemplateRow | None:
    row = conn.execute(
        select(*_COLUMNS).where(templates.c.id == template_id, templates.c.account_id == account_id)
    ).first()
    return TemplateRow(*row) if row else None


def page_of_templates(
    conn: Connection, account_id: int, limit: int, after: tuple[datetime, int] | None
) -> list[TemplateRow]:
    """Up to `limit` templates, newest first, after the (created_at, id) of
    the last one shown."""
    query = select(*_COLUMNS).where(templates.c.account_id == account_id)
    if after is not None:
        created, last_id = after
        query = query.where(
            or_(
                templates.c.created_at < created,
                and_(templates.c.created_at == created, templates.c.id < last_id),
            )
        )
    query = query.order_by(templates.c.created_at.desc(), templates.c.id.desc()).limit(limit)
    return [TemplateRow(*row) for row in conn.execute(query)]


def update_template(
    conn: Connection, account_id: int, template_id: int, values: dict[str, Any], now: datetime
) -> bool:
    """Save `values` (name and/or message); False when the account has no such template."""
    changed: int = conn.execute(
        update(templates)
        .where(templates.c.id == template_id, templates.c.account_id == account_id)
        .values(**values, updated_at=now)
    ).rowcount
    return bool(changed)


def delete_template(conn: Connection, account_id: int, template_id: int) -> bool:
    changed: int = conn.execute(
        delete(templates).where(templates.c.id == template_id, templates.c.account_id == account_id)
    ).rowcount
    return bool(changed)
