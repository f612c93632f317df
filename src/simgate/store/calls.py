"""Queries on `calls` and `qualifications`: what phones report of their calls,
and how the calls were qualified (from the phone or the dashboard)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select

from simgate.store.tables import calls, qualifications


def insert_call(
    conn: Connection,
    account_id: int,
    device_id: int,
    kind: str,
    phone_number: str,
    at: datetime,
    duration: str,
) -> None:
    conn.execute(
        insert(calls).values(
            account_id=account_id,
            device_id=device_id,
            kind=kind,
            phone_number=phone_number,
            call_time=at,
            duration=duration,
        )
    )


def latest_call_id(conn: Connection, account_id: int, phone_number: str) -> int | None:
    """The account's latest call with `phone_number`, if any."""
    found = conn.execute(
        select(calls.c.id)
        .where(calls.c.account_id == account_id, calls.c.phone_number == phone_number)
        .order_by(calls.c.call_time.desc())
        .limit(1)
    ).scalar()
    return int(found) if found is not None else None


def number_of_call(conn: Connection, account_id: int, call_id: int) -> str | None:
    """The phone number of the account's call `call_id`; None when it has no such call."""
    number: str | None = conn.execute(
        select(calls.c.phone_number).where(calls.c.id == call_id, calls.c.account_id == account_id)
    ).scalar()
    return number


def insert_qualification(
    conn: Connection,
    account_id: int,
    call_id: int | None,
    source: str,
    from_number: str,
    text: str,
    at: datetime,
) -> int:
    return int(
        conn.execute(
            insert(qualifications).values(
                account_id=account_id,
                call_id=call_id,
                source=source,
                from_number=from_number,
                text=text,
                created_at=at,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    )
