"""Queries on `custom_fields`: the fields an account gives its contacts. The
values live in each contact's `custom` JSON (store/contacts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, text

from simgate.store.tables import custom_fields


@dataclass(frozen=True, slots=True)
class CustomField:
    id: int
    name: str
    label: str
    created_at: datetime
    contacts: int  # live contacts with a value for it


@dataclass(frozen=True, slots=True)
class FieldName:
    name: str
    label: str


def custom_fields_of(conn: Connection, account_id: int) -> list[CustomField]:
    """The account's definitions, each with how many live contacts have a value:
    one query over the definitions, one GROUP BY over the JSON keys (of every
    live contact: only where the counts are shown)."""
    counts = _custom_counts(conn, account_id)
    return [
        CustomField(row.id, row.name, row.label, row.created_at, counts.get(row.name, 0))
        for row in conn.execute(_definitions(account_id))
    ]


def field_names_of(conn: Connection, account_id: int) -> list[FieldName]:
    """The account's definitions by name, without counts (a contact's page)."""
    return [FieldName(row.name, row.label) for row in conn.execute(_definitions(account_id))]


def _definitions(account_id: int) -> Any:
    return (
        select(
            custom_fields.c.id,
            custom_fields.c.name,
            custom_fields.c.label,
            custom_fields.c.created_at,
        )
        .where(custom_fields.c.account_id == account_id)
        .order_by(custom_fields.c.name)
    )


def _custom_counts(conn: Connection, account_id: int) -> dict[str, int]:
    if conn.dialect.name == "postgresql":
        sql = text(
            "SELECT k, count(*) FROM contacts, jsonb_object_keys(contacts.custom::jsonb) AS k"
            " WHERE account_id = :a AND deleted_at IS NULL AND custom IS NOT NULL GROUP BY k"
        )
    else:
        sql = text(
            "SELECT je.key, count(*) FROM contacts, json_each(contacts.custom) AS je"
            " WHERE account_id = :a AND deleted_at IS NULL AND custom IS NOT NULL"
            " GROUP BY je.key"
        )
    return {str(key): int(count) for key, count in conn.execute(sql, {"a": account_id})}


def custom_field_names(conn: Connection, account_id: int) -> set[str]:
    return set(
        conn.scalars(select(custom_fields.c.name).where(custom_fields.c.account_id == account_id))
    )


def define_custom_field(
    conn: Connection, account_id: int, name: str, label: str, now: datetime
) -> bool:
    """False when the account already has a field of that name."""
    if name in custom_field_names(conn, account_id):
        return False
    conn.execute(
        insert(custom_fields).values(account_id=account_id, name=name, label=label, created_at=now)
    )
    return True


def delete_custom_field(conn: Connection, account_id: int, field_id: int) -> bool:
    """Drop a definition; the contacts' values stay in their JSON, unused."""
    changed: int = conn.execute(
        delete(custom_fields).where(
            custom_fields.c.id == field_id, custom_fields.c.account_id == account_id
        )
    ).rowcount
    return bool(changed)
