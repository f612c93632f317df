"""Queries on `qualification_options`: the answers an account offers to
qualify a call. Deleting one hides it (`deleted_at`); the qualifications made
with it keep their text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from simgate.store.tables import qualification_options as options


@dataclass(frozen=True, slots=True)
class OptionRow:
    id: int
    label: str
    created_at: datetime


_OPTION = (options.c.id, options.c.label, options.c.created_at)


def live(conn: Connection, account_id: int) -> list[OptionRow]:
    """The account's options not deleted, oldest first."""
    rows = conn.execute(
        select(*_OPTION)
        .where(options.c.account_id == account_id, options.c.deleted_at.is_(None))
        .order_by(options.c.id)
    )
    return [OptionRow(*row) for row in rows]


def one(conn: Connection, account_id: int, option_id: int) -> OptionRow | None:
    """The account's option `option_id`, if it exists and is not deleted."""
    row = conn.execute(
        select(*_OPTION).where(
            options.c.id == option_id,
            options.c.account_id == account_id,
            options.c.deleted_at.is_(None),
        )
    ).first()
    return OptionRow(*row) if row is not None else None


def insert_option(conn: Connection, account_id: int, label: str, now: datetime) -> OptionRow:
    option_id = conn.execute(
        insert(options).values(account_id=account_id, label=label, created_at=now)
    ).inserted_primary_key[0]  # type: ignore[index]
    return OptionRow(int(option_id), label, now)


def relabel(conn: Connection, account_id: int, option_id: int, label: str) -> bool:
    """False when the account has no such live option."""
    done = conn.execute(
        update(options)
        .where(
            options.c.id == option_id,
            options.c.account_id == account_id,
            options.c.deleted_at.is_(None),
        )
        .values(label=label)
    )
    return done.rowcount == 1


def hide(conn: Connection, account_id: int, option_id: int, now: datetime) -> bool:
    """Soft-delete; False when the account has no such live option."""
    done = conn.execute(
        update(options)
        .where(
            options.c.id == option_id,
            options.c.account_id == account_id,
            options.c.deleted_at.is_(None),
        )
        .values(deleted_at=now)
    )
    return done.rowcount == 1


def known(conn: Connection, account_id: int, option_id: int) -> bool:
    """Whether the account has (or had: deleted ones count) option `option_id`."""
    found = conn.execute(
        select(options.c.id).where(options.c.id == option_id, options.c.account_id == account_id)
    ).first()
    return found is not None
