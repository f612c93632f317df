"""Queries on `contacts`: one row per (account, E.164 number)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from simgate.domain.search import search_name
from simgate.store.tables import contacts

# The columns a contact's owner edits, in the CSV export's order.
FIELDS = ("phone_number", "firstname", "lastname", "address", "email")


def upsert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert or update contacts (one executemany); each row holds account_id,
    created_at, updated_at and the FIELDS. A soft-deleted contact comes back."""
    for row in rows:
        row["search_name"] = search_name(row["firstname"], row["lastname"])
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(contacts)
    stmt = stmt.on_conflict_do_update(
        index_elements=["account_id", "phone_number"],
        set_={
            "firstname": stmt.excluded.firstname,
            "lastname": stmt.excluded.lastname,
            "address": stmt.excluded.address,
            "email": stmt.excluded.email,
            "updated_at": stmt.excluded.updated_at,
            "search_name": stmt.excluded.search_name,
            "deleted_at": None,
        },
    )
    conn.execute(stmt, rows)


def number_taken(conn: Connection, account_id: int, phone_number: str, except_id: int) -> bool:
    """Whether another of the account's contacts has this number."""
    clash = conn.execute(
        select(contacts.c.id).where(
            contacts.c.account_id == account_id,
            contacts.c.phone_number == phone_number,
            contacts.c.id != except_id,
        )
    ).first()
    return clash is not None


def update_contact(
    conn: Connection, account_id: int, contact_id: int, values: dict[str, str], now: datetime
) -> bool:
    """Save the FIELDS in `values`; False when the account has no such contact."""
    changed: int = conn.execute(
        update(contacts)
        .where(contacts.c.id == contact_id, contacts.c.account_id == account_id)
        .values(**values, updated_at=now)
    ).rowcount
    return bool(changed)


def delete_contact(conn: Connection, account_id: int, contact_id: int) -> bool:
    """False when the account has no such contact."""
    changed: int = conn.execute(
        delete(contacts).where(contacts.c.id == contact_id, contacts.c.account_id == account_id)
    ).rowcount
    return bool(changed)
