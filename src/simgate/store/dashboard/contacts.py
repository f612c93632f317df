"""The Contacts page: search, one contact, and the CSV export (live contacts
only: soft-deleted ones are left out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, or_, select

from simgate.domain.search import fold
from simgate.store.contacts import FIELDS
from simgate.store.dashboard.common import Page, columns, keyset_page
from simgate.store.tables import contacts


@dataclass(frozen=True, slots=True)
class ContactRow:
    """A whole `contacts` row."""

    id: int
    account_id: int
    phone_number: str
    firstname: str
    lastname: str
    address: str
    email: str
    created_at: datetime
    updated_at: datetime
    pro: bool


_CONTACT = columns(contacts, ContactRow)


def page_of_contacts(conn: Connection, account_id: int, search: str, link: str = "") -> Page:
    """The account's live contacts by name (account + names index), each of
    the first five words of `search` found in the folded name, the e-mail or
    the number."""
    query = select(*_CONTACT).where(
        contacts.c.account_id == account_id, contacts.c.deleted_at.is_(None)
    )
    for word in search.split()[:5]:
        pattern = f"%{word}%"
        query = query.where(
            or_(
                contacts.c.firstname.ilike(pattern),
                contacts.c.lastname.ilike(pattern),
                # The folded name too: "cecile" finds "Cécile".
                contacts.c.search_name.contains(fold(word), autoescape=True),
                contacts.c.email.ilike(pattern),
                contacts.c.phone_number.contains(word.lstrip("0") or word, autoescape=True),
            )
        )
    key = (contacts.c.lastname, contacts.c.firstname, contacts.c.id)
    return keyset_page(conn, query, key, link, ContactRow, descending=False)


def contact(conn: Connection, account_id: int, contact_id: int) -> ContactRow | None:
    row = conn.execute(
        select(*_CONTACT).where(
            contacts.c.id == contact_id,
            contacts.c.account_id == account_id,
            contacts.c.deleted_at.is_(None),
        )
    ).first()
    return ContactRow(**row._mapping) if row is not None else None


def export_rows(conn: Connection, account_id: int) -> list[tuple[str, ...]]:
    """Every contact of the account as FIELDS, in the order they were created."""
    rows = conn.execute(
        select(*(contacts.c[name] for name in FIELDS))
        .where(contacts.c.account_id == account_id, contacts.c.deleted_at.is_(None))
        .order_by(contacts.c.id)
    )
    return [tuple(row) for row in rows]
