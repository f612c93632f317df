"""Queries on `contact_lists` and `list_members`.

Member counts and member pages count live contacts only: a soft-deleted
contact keeps its memberships (it comes back with them) but is never shown.
The counts are kept by triggers (list_counts, migration 0008) and read, never
counted here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    delete,
    func,
    insert,
    literal,
    select,
    tuple_,
    union_all,
    update,
)

from simgate.store.tables import (
    contact_lists,
    contacts,
    list_count_deltas,
    list_counts,
    list_members,
)


@dataclass(frozen=True, slots=True)
class ContactList:
    id: int
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    contacts: int  # live members


_LIST = (
    contact_lists.c.id,
    contact_lists.c.name,
    contact_lists.c.description,
    contact_lists.c.created_at,
    contact_lists.c.updated_at,
)


def _with_counts(conn: Connection, rows: Sequence[Any]) -> list[ContactList]:
    """The lists with their live member counts, read from the list_counts
    rollup (and its pending deltas) in one query: counting list_members
    joined to contacts read every membership of every list."""
    ids = [row.id for row in rows]
    counts: dict[int, int] = {}
    if ids:
        parts = [
            select(table.c.list_id, table.c.n).where(table.c.list_id.in_(ids))
            for table in (list_counts, list_count_deltas)
        ]
        rolled = union_all(*parts).subquery("rolled")
        query = select(rolled.c.list_id, func.sum(rolled.c.n)).group_by(rolled.c.list_id)
        counts = {int(list_id): int(n) for list_id, n in conn.execute(query)}
    return [ContactList(**row._mapping, contacts=counts.get(row.id, 0)) for row in rows]


def page(
    conn: Connection, account_id: int, after: tuple[datetime, int] | None, limit: int
) -> list[ContactList]:
    """Up to `limit` lists, newest first, after the keyset `after`."""
    query = select(*_LIST).where(contact_lists.c.account_id == account_id)
    if after is not None:
        key = tuple_(contact_lists.c.created_at, contact_lists.c.id)
        query = query.where(
            key
            < tuple_(
                literal(after[0], type_=contact_lists.c.created_at.type),
                literal(after[1], type_=contact_lists.c.id.type),
            )
        )
    query = query.order_by(contact_lists.c.created_at.desc(), contact_lists.c.id.desc())
    return _with_counts(conn, conn.execute(query.limit(limit)).all())


def get(conn: Connection, account_id: int, list_id: int) -> ContactList | None:
    row = conn.execute(
        select(*_LIST).where(
            contact_lists.c.id == list_id, contact_lists.c.account_id == account_id
        )
    ).first()
    return _with_counts(conn, [row])[0] if row is not None else None


def exists(conn: Connection, account_id: int, list_id: int) -> bool:
    found = conn.execute(
        select(contact_lists.c.id).where(
            contact_lists.c.id == list_id, contact_lists.c.account_id == account_id
        )
    ).first()
    return found is not None


def create(conn: Connection, account_id: int, name: str, description: str, now: datetime) -> int:
    return int(
        conn.execute(
            insert(contact_lists)
            .values(
                account_id=account_id,
                name=name,
                description=description,
                created_at=now,
                updated_at=now,
            )
            .returning(contact_lists.c.id)
        ).scalar_one()
    )


def update_list(
    conn: Connection, account_id: int, list_id: int, values: dict[str, str], now: datetime
) -> bool:
    changed: int = conn.execute(
        update(contact_lists)
        .where(contact_lists.c.id == list_id, contact_lists.c.account_id == account_id)
        .values(**values, updated_at=now)
    ).rowcount
    return bool(changed)


def delete_list(conn: Connection, account_id: int, list_id: int) -> bool:
    if not exists(conn, account_id, list_id):
        return False
    conn.execute(delete(list_members).where(list_members.c.list_id == list_id))
    conn.execute(delete(contact_lists).where(contact_lists.c.id == list_id))
    return True


def live_contact_ids(conn: Connection, account_id: int, ids: Sequence[int]) -> set[int]:
    """Which of `ids` are live contacts of the account."""
    if not ids:
        return set()
    # By primary key, the account checked on the rows (see contacts._owned).
    rows = conn.execute(
        select(contacts.c.id, contacts.c.account_id).where(
            contacts.c.id.in_(list(ids)), contacts.c.deleted_at.is_(None)
        )
    )
    return {row.id for row in rows if row.account_id == account_id}


def member_ids(conn: Connection, list_id: int, ids: Sequence[int]) -> set[int]:
    """Which of `ids` are members of the list."""
    if not ids:
        return set()
    return set(
        conn.scalars(
            select(list_members.c.contact_id).where(
                list_members.c.list_id == list_id, list_members.c.contact_id.in_(list(ids))
            )
        )
    )


def add_members(conn: Connection, list_id: int, ids: Sequence[int], now: datetime) -> None:
    if ids:
        conn.execute(
            insert(list_members),
            [{"list_id": list_id, "contact_id": cid, "added_at": now} for cid in ids],
        )


def remove_members(conn: Connection, list_id: int, ids: Sequence[int]) -> None:
    if ids:
        conn.execute(
            delete(list_members).where(
                list_members.c.list_id == list_id, list_members.c.contact_id.in_(list(ids))
            )
        )


def add_all(conn: Connection, account_id: int, list_id: int, now: datetime) -> tuple[int, int]:
    """Every live contact of the account not yet a member, in one INSERT ...
    SELECT; (added, live contacts of the account)."""
    total = int(
        conn.execute(
            select(func.count()).where(
                contacts.c.account_id == account_id, contacts.c.deleted_at.is_(None)
            )
        ).scalar_one()
    )
    already = select(list_members.c.contact_id).where(list_members.c.list_id == list_id)
    source = select(
        literal(list_id, type_=list_members.c.list_id.type),
        contacts.c.id,
        literal(now, type_=list_members.c.added_at.type),
    ).where(
        contacts.c.account_id == account_id,
        contacts.c.deleted_at.is_(None),
        contacts.c.id.not_in(already),
    )
    before = _member_count(conn, list_id)
    conn.execute(insert(list_members).from_select(["list_id", "contact_id", "added_at"], source))
    # Counted, not rowcount: psycopg reports -1 for an INSERT ... SELECT.
    return _member_count(conn, list_id) - before, total


def _member_count(conn: Connection, list_id: int) -> int:
    return int(
        conn.execute(select(func.count()).where(list_members.c.list_id == list_id)).scalar_one()
    )


def members(conn: Connection, list_id: int, limit: int) -> list[int]:
    """The ids of the first `limit` live members, in the order they were added."""
    return list(
        conn.scalars(
            select(list_members.c.contact_id)
            .join(contacts, contacts.c.id == list_members.c.contact_id)
            .where(list_members.c.list_id == list_id, contacts.c.deleted_at.is_(None))
            .order_by(list_members.c.added_at, list_members.c.contact_id)
            .limit(limit)
        )
    )


def touch(conn: Connection, list_id: int, now: datetime) -> None:
    conn.execute(update(contact_lists).where(contact_lists.c.id == list_id).values(updated_at=now))


@dataclass(frozen=True, slots=True)
class ListChoice:
    id: int
    name: str


def newest(conn: Connection, account_id: int, limit: int) -> list[ListChoice]:
    """The account's lists newest first, as `page` orders them, without their
    member counts (which read every membership of every list)."""
    query = (
        select(contact_lists.c.id, contact_lists.c.name)
        .where(contact_lists.c.account_id == account_id)
        .order_by(contact_lists.c.created_at.desc(), contact_lists.c.id.desc())
        .limit(limit)
    )
    return [ListChoice(int(row.id), row.name) for row in conn.execute(query)]


def choices(conn: Connection, account_id: int, limit: int = 500) -> list[ListChoice]:
    """The account's lists by name, to pick one (the dashboard's campaign form)."""
    query = (
        select(contact_lists.c.id, contact_lists.c.name)
        .where(contact_lists.c.account_id == account_id)
        .order_by(contact_lists.c.name, contact_lists.c.id)
        .limit(limit)
    )
    return [ListChoice(int(row.id), row.name) for row in conn.execute(query)]
