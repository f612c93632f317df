"""Queries on `contacts`: one row per (account, E.164 number), with its tags
and custom values.

A soft-deleted contact (deleted_at set) is left out of every read here; an
upsert of its number brings it back. Every write that changes a name, a
number or whether a contact is live also bumps accounts.contacts_stamp, in the
same transaction: search indexes held in memory check it (bump_stamp).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from simgate.domain.search import fold, search_name
from simgate.store.tables import (
    accounts,
    contact_lists,
    contact_tags,
    contacts,
    incoming_sms,
    list_members,
    messages,
)

# The columns a contact's owner edits, in the CSV export's order.
FIELDS = ("phone_number", "firstname", "lastname", "address", "email")


def upsert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert or update contacts (one executemany); each row holds account_id,
    created_at, updated_at and the FIELDS. A soft-deleted contact comes back."""
    stamps = {account_id: bump_stamp(conn, account_id) for account_id in _accounts_of(rows)}
    for row in rows:
        row["search_name"] = search_name(row["firstname"], row["lastname"])
        row["stamp"] = stamps[row["account_id"]]
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
            "stamp": stmt.excluded.stamp,
            "deleted_at": None,
        },
    )
    conn.execute(stmt, rows)


def _accounts_of(rows: list[dict[str, Any]]) -> list[int]:
    return sorted({row["account_id"] for row in rows})  # a fixed lock order


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
    """Save the FIELDS in `values`, search_name kept in step with the names;
    False when the account has no such live contact."""
    row = conn.execute(
        select(contacts.c.firstname, contacts.c.lastname).where(_live_of(account_id, contact_id))
    ).first()
    if row is None:
        return False
    first = values.get("firstname", row.firstname)
    last = values.get("lastname", row.lastname)
    conn.execute(
        update(contacts)
        .where(_live_of(account_id, contact_id))
        .values(
            **values,
            search_name=search_name(first, last),
            updated_at=now,
            stamp=bump_stamp(conn, account_id),
        )
    )
    return True


def soft_delete(conn: Connection, account_id: int, contact_id: int, now: datetime) -> bool:
    """Mark a live contact deleted; False when the account has no such live contact."""
    if not is_live(conn, account_id, contact_id):
        return False
    conn.execute(
        update(contacts)
        .where(_live_of(account_id, contact_id))
        .values(deleted_at=now, updated_at=now, stamp=bump_stamp(conn, account_id))
    )
    return True


# -- change stamp ------------------------------------------------------------


def bump_stamp(conn: Connection, account_id: int) -> int:
    """Say that the account's contacts change in this transaction; the new
    stamp, for the rows written. On PostgreSQL the row lock it takes orders the
    writers: a stamp that can be read implies that every write with a lower
    one is committed."""
    return int(
        conn.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(contacts_stamp=accounts.c.contacts_stamp + 1)
            .returning(accounts.c.contacts_stamp)
        ).scalar_one()
    )


def stamp(conn: Connection, account_id: int) -> int:
    value = conn.execute(
        select(accounts.c.contacts_stamp).where(accounts.c.id == account_id)
    ).scalar_one_or_none()
    return int(value or 0)


def changed_since(
    conn: Connection, account_id: int, since: int
) -> list[tuple[int, str, str, bool]]:
    """(id, folded name, number, live) of the contacts written after stamp `since`."""
    rows = conn.execute(
        select(
            contacts.c.id, contacts.c.search_name, contacts.c.phone_number, contacts.c.deleted_at
        ).where(contacts.c.account_id == account_id, contacts.c.stamp > since)
    )
    return [(row[0], row[1], row[2], row[3] is None) for row in rows]


def index_rows(conn: Connection, account_id: int) -> list[tuple[int, str, str]]:
    """(id, folded name, number) of every live contact: what a search index holds."""
    rows = conn.execute(
        select(contacts.c.id, contacts.c.search_name, contacts.c.phone_number).where(
            contacts.c.account_id == account_id, contacts.c.deleted_at.is_(None)
        )
    )
    return [(row[0], row[1], row[2]) for row in rows]


# -- reading contacts --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Contact:
    id: int
    phone_number: str
    firstname: str
    lastname: str
    email: str
    address: str
    pro: bool
    custom: dict[str, str]
    tags: list[str]
    created_at: datetime
    updated_at: datetime


_COLUMNS = (
    contacts.c.id,
    contacts.c.phone_number,
    contacts.c.firstname,
    contacts.c.lastname,
    contacts.c.email,
    contacts.c.address,
    contacts.c.pro,
    contacts.c.custom,
    contacts.c.created_at,
    contacts.c.updated_at,
)

# Sort keys of a contacts page: request name → column (the id breaks ties).
SORTS = {
    "date_add": contacts.c.created_at,
    "created": contacts.c.created_at,
    "lastname": contacts.c.lastname,
    "firstname": contacts.c.search_name,  # folded "first last": accents and case aside
    "phone_number": contacts.c.phone_number,
}


def _live_of(account_id: int, contact_id: int) -> ColumnElement[bool]:
    return and_(
        contacts.c.id == contact_id,
        contacts.c.account_id == account_id,
        contacts.c.deleted_at.is_(None),
    )


def read_custom(raw: str | None) -> dict[str, str]:
    if not raw:
        return {}
    value = json.loads(raw)
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def tags_by_contact(conn: Connection, ids: Sequence[int]) -> dict[int, list[str]]:
    """The tags of these contacts, in one query."""
    tags: dict[int, list[str]] = {}
    if ids:
        for contact_id, tag in conn.execute(
            select(contact_tags.c.contact_id, contact_tags.c.tag)
            .where(contact_tags.c.contact_id.in_(list(ids)))
            .order_by(contact_tags.c.contact_id, contact_tags.c.tag)
        ):
            tags.setdefault(contact_id, []).append(tag)
    return tags


def _build(conn: Connection, rows: Sequence[Any]) -> list[Contact]:
    """Contacts from rows of _COLUMNS, with their tags (one more query)."""
    tags = tags_by_contact(conn, [row.id for row in rows])
    return [
        Contact(
            id=row.id,
            phone_number=row.phone_number,
            firstname=row.firstname,
            lastname=row.lastname,
            email=row.email,
            address=row.address,
            pro=bool(row.pro),
            custom=read_custom(row.custom),
            tags=tags.get(row.id, []),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in rows
    ]


def get(conn: Connection, account_id: int, contact_id: int) -> Contact | None:
    rows = conn.execute(select(*_COLUMNS).where(_live_of(account_id, contact_id))).all()
    found = _build(conn, rows)
    return found[0] if found else None


def by_ids(conn: Connection, account_id: int, ids: Sequence[int]) -> dict[int, Contact]:
    """The live contacts among `ids`, by id."""
    if not ids:
        return {}
    rows = _owned(conn, select(*_COLUMNS, contacts.c.account_id), account_id, ids)
    return {contact.id: contact for contact in _build(conn, rows)}


def _owned(conn: Connection, query: Any, account_id: int, ids: Sequence[int]) -> list[Any]:
    """The rows of `query` (which selects contacts.account_id) for the live
    contacts among `ids` that belong to the account. The account is checked
    here, not in SQL: with both in the WHERE, SQLite walks the account's index
    (10^5 rows) instead of looking the ids up by primary key."""
    rows = conn.execute(
        query.where(contacts.c.id.in_(list(ids)), contacts.c.deleted_at.is_(None))
    ).all()
    return [row for row in rows if row.account_id == account_id]


def by_phone(conn: Connection, account_id: int, phone_number: str) -> Contact | None:
    rows = conn.execute(
        select(*_COLUMNS).where(
            contacts.c.account_id == account_id,
            contacts.c.phone_number == phone_number,
            contacts.c.deleted_at.is_(None),
        )
    ).all()
    found = _build(conn, rows)
    return found[0] if found else None


def page(
    conn: Connection,
    account_id: int,
    *,
    sort: str,
    descending: bool,
    after: tuple[Any, int] | None,
    limit: int,
    search: str = "",
) -> list[Contact]:
    """Up to `limit` live contacts in (sort column, id) order, after the
    keyset `after`; `search` keeps those whose folded name, e-mail or number
    holds it."""
    column = SORTS[sort]
    query = select(*_COLUMNS).where(
        contacts.c.account_id == account_id, contacts.c.deleted_at.is_(None)
    )
    folded = fold(search)
    if folded:
        digits = "".join(ch for ch in search if ch.isdigit()).lstrip("0")
        found = [
            contacts.c.search_name.contains(folded, autoescape=True),
            func.lower(contacts.c.email).contains(folded, autoescape=True),
        ]
        if digits:
            found.append(contacts.c.phone_number.contains(digits, autoescape=True))
        query = query.where(or_(*found))
    key = tuple_(column, contacts.c.id)
    if after is not None:
        bound = tuple_(
            literal(after[0], type_=column.type), literal(after[1], type_=contacts.c.id.type)
        )
        query = query.where(key < bound if descending else key > bound)
    if descending:
        query = query.order_by(column.desc(), contacts.c.id.desc())
    else:
        query = query.order_by(column, contacts.c.id)
    rows = conn.execute(query.limit(limit)).all()
    return _build(conn, rows)


def sort_value(contact: Contact, sort: str) -> Any:
    """The value of the page's sort key in `contact` (for the next cursor)."""
    name = SORTS[sort].name
    if name == "search_name":
        return search_name(contact.firstname, contact.lastname)
    return getattr(contact, name)


@dataclass(frozen=True, slots=True)
class Activity:
    lists: list[tuple[int, str]]  # (list id, name)
    sent: int
    received: int
    last_sent: datetime | None
    last_received: datetime | None


def activity(conn: Connection, account_id: int, contact: Contact) -> Activity:
    """The contact's lists and its message counts: index lookups only."""
    lists = conn.execute(
        select(contact_lists.c.id, contact_lists.c.name)
        .join(list_members, list_members.c.list_id == contact_lists.c.id)
        .where(list_members.c.contact_id == contact.id, contact_lists.c.account_id == account_id)
        .order_by(contact_lists.c.name, contact_lists.c.id)
    ).all()
    sent = conn.execute(
        select(func.count(), func.max(messages.c.created_at)).where(
            messages.c.account_id == account_id,
            messages.c.phone_number == contact.phone_number,
        )
    ).one()
    received = conn.execute(
        select(func.count(), func.max(incoming_sms.c.received_at)).where(
            incoming_sms.c.account_id == account_id,
            incoming_sms.c.from_number == contact.phone_number,
        )
    ).one()
    return Activity(
        lists=[(row.id, row.name) for row in lists],
        sent=int(sent[0]),
        received=int(received[0]),
        last_sent=sent[1],
        last_received=received[1],
    )


# -- pro, tags, custom values --------------------------------------------------


def set_pro(conn: Connection, account_id: int, contact_id: int, pro: bool, now: datetime) -> bool:
    changed: int = conn.execute(
        update(contacts).where(_live_of(account_id, contact_id)).values(pro=pro, updated_at=now)
    ).rowcount
    return bool(changed)


def is_live(conn: Connection, account_id: int, contact_id: int) -> bool:
    found = conn.execute(select(contacts.c.id).where(_live_of(account_id, contact_id))).first()
    return found is not None


def tags_of(conn: Connection, contact_id: int) -> list[str]:
    return list(
        conn.scalars(
            select(contact_tags.c.tag)
            .where(contact_tags.c.contact_id == contact_id)
            .order_by(contact_tags.c.tag)
        )
    )


def add_tags(conn: Connection, account_id: int, contact_id: int, tags: Sequence[str]) -> None:
    """Add the tags the contact does not have yet (already clean and unique)."""
    if not tags:
        return
    have = set(tags_of(conn, contact_id))
    new = [{"contact_id": contact_id, "tag": t, "account_id": account_id} for t in tags]
    rows = [row for row in new if row["tag"] not in have]
    if rows:
        conn.execute(insert(contact_tags), rows)


def remove_tags(conn: Connection, contact_id: int, tags: Sequence[str]) -> None:
    if tags:
        conn.execute(
            delete(contact_tags).where(
                contact_tags.c.contact_id == contact_id, contact_tags.c.tag.in_(list(tags))
            )
        )


def touch(conn: Connection, account_id: int, contact_id: int, now: datetime) -> None:
    conn.execute(update(contacts).where(_live_of(account_id, contact_id)).values(updated_at=now))


def set_custom(
    conn: Connection, account_id: int, contact_id: int, values: dict[str, str], now: datetime
) -> bool:
    """Replace the contact's custom values (empty values are dropped)."""
    kept = {name: value for name, value in sorted(values.items()) if value}
    changed: int = conn.execute(
        update(contacts)
        .where(_live_of(account_id, contact_id))
        .values(custom=json.dumps(kept, ensure_ascii=False) if kept else None, updated_at=now)
    ).rowcount
    return bool(changed)
