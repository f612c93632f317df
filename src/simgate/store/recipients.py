"""Who a send or a campaign goes to: contacts by number or id, list members,
and what a template needs of each (contacts.custom).

Read-only. Soft-deleted contacts are never recipients. Batches stay batches:
one query per chunk of numbers or ids, never one per recipient.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from simgate.store.tables import contacts, list_members

# Numbers or ids per IN (...): well under every driver's parameter limit.
CHUNK = 2000


@dataclass(frozen=True, slots=True)
class ContactRow:
    id: int
    phone_number: str
    firstname: str
    lastname: str
    email: str
    custom: str | None  # JSON object of name → text


_COLUMNS = (
    contacts.c.id,
    contacts.c.phone_number,
    contacts.c.firstname,
    contacts.c.lastname,
    contacts.c.email,
    contacts.c.custom,
)


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _live(account_id: int) -> Any:
    return (contacts.c.account_id == account_id) & contacts.c.deleted_at.is_(None)


def by_numbers(conn: Connection, account_id: int, numbers: Iterable[str]) -> dict[str, ContactRow]:
    """The account's live contacts with these E.164 numbers, by number."""
    found: dict[str, ContactRow] = {}
    for chunk in _chunks(list(dict.fromkeys(numbers))):
        query = select(*_COLUMNS).where(_live(account_id), contacts.c.phone_number.in_(chunk))
        found.update({row.phone_number: ContactRow(*row) for row in conn.execute(query)})
    return found


def by_ids(conn: Connection, account_id: int, ids: Iterable[int]) -> dict[int, ContactRow]:
    """The account's live contacts with these ids, by id."""
    found: dict[int, ContactRow] = {}
    for chunk in _chunks(list(dict.fromkeys(ids))):
        query = select(*_COLUMNS).where(_live(account_id), contacts.c.id.in_(chunk))
        found.update({int(row.id): ContactRow(*row) for row in conn.execute(query)})
    return found


def list_members_of(conn: Connection, account_id: int, list_id: int) -> list[ContactRow]:
    """The live contacts of a list, oldest member first."""
    query = (
        select(*_COLUMNS)
        .join(list_members, list_members.c.contact_id == contacts.c.id)
        .where(list_members.c.list_id == list_id, _live(account_id))
        .order_by(list_members.c.added_at, contacts.c.id)
    )
    return [ContactRow(*row) for row in conn.execute(query)]
