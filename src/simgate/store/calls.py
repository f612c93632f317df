"""Queries on `calls` and `qualifications`: what phones report of their calls,
and how the calls were qualified (from the phone or the dashboard)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, exists, func, insert, or_, select, true

from simgate.store.newest import newest_of_each
from simgate.store.tables import calls, qualifications


@dataclass(frozen=True, slots=True)
class CallRow:
    """A call as v2 lists it."""

    id: int
    kind: str
    phone_number: str
    call_time: datetime
    duration: str
    qualified: bool


@dataclass(frozen=True, slots=True)
class QualifiedRow:
    """A qualification with the call it qualifies (None: no call was found)."""

    id: int
    call_id: int | None
    source: str
    from_number: str
    text: str
    option_id: int | None
    notes: str | None
    created_at: datetime
    call_kind: str | None
    call_time: datetime | None
    call_duration: str | None


@dataclass(frozen=True, slots=True)
class KindCount:
    kind: str
    calls: int
    qualified: int


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
    option_id: int | None = None,
    notes: str | None = None,
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
                option_id=option_id,
                notes=notes,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    )


# --- v2 reads -------------------------------------------------------------------------


def _is_qualified() -> Any:
    return exists().where(qualifications.c.call_id == calls.c.id)


def _after(at: Any, row_id: Any, bound: tuple[datetime, int] | None) -> Any:
    """Newest-first keyset: rows strictly after (`at`, `id`) = `bound`."""
    if bound is None:
        return true()
    moment, last_id = bound
    # `at <= moment` first: a range the index can seek to, however deep the page.
    return and_(at <= moment, or_(at < moment, and_(at == moment, row_id < last_id)))


def page_of_calls(
    conn: Connection,
    account_id: int,
    limit: int,
    kinds: tuple[str, ...] | None = None,
    phones: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    qualified: bool | None = None,
    bound: tuple[datetime, int] | None = None,
) -> list[CallRow]:
    """The account's calls, newest first, at most `limit`: through the
    account + time index, or the account + number index for `phones` (the
    spellings a phone may have reported one number in)."""

    def newest(number: str | None) -> Select[Any]:
        query = select(
            calls.c.id,
            calls.c.kind,
            calls.c.phone_number,
            calls.c.call_time,
            calls.c.duration,
            _is_qualified().label("qualified"),
        ).where(calls.c.account_id == account_id)
        if number is not None:
            query = query.where(calls.c.phone_number == number)
        if kinds is not None:
            query = query.where(calls.c.kind.in_(kinds))
        if since is not None:
            query = query.where(calls.c.call_time >= since)
        if until is not None:
            query = query.where(calls.c.call_time < until)
        if qualified is not None:
            query = query.where(_is_qualified() if qualified else ~_is_qualified())
        query = query.where(_after(calls.c.call_time, calls.c.id, bound))
        return query.order_by(calls.c.call_time.desc(), calls.c.id.desc()).limit(limit)

    query = (
        newest(None) if phones is None else newest_of_each(newest, phones, limit, time="call_time")
    )
    return [
        CallRow(
            row.id, row.kind, row.phone_number, row.call_time, row.duration, bool(row.qualified)
        )
        for row in conn.execute(query)
    ]


def page_of_qualifications(
    conn: Connection,
    account_id: int,
    limit: int,
    phones: list[str] | None = None,
    option_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    bound: tuple[datetime, int] | None = None,
) -> list[QualifiedRow]:
    """The account's qualifications, newest first, each with its call:
    through the account + time index, or the account + number index for
    `phones` (the spellings a phone may have reported one number in)."""
    q = qualifications.c

    def newest(number: str | None) -> Select[Any]:
        query = (
            select(
                q.id,
                q.call_id,
                q.source,
                q.from_number,
                q.text,
                q.option_id,
                q.notes,
                q.created_at,
                calls.c.kind,
                calls.c.call_time,
                calls.c.duration,
            )
            .outerjoin(calls, calls.c.id == q.call_id)
            .where(q.account_id == account_id)
        )
        if number is not None:
            query = query.where(q.from_number == number)
        if option_id is not None:
            query = query.where(q.option_id == option_id)
        if since is not None:
            query = query.where(q.created_at >= since)
        if until is not None:
            query = query.where(q.created_at < until)
        query = query.where(_after(q.created_at, q.id, bound))
        return query.order_by(q.created_at.desc(), q.id.desc()).limit(limit)

    query = (
        newest(None) if phones is None else newest_of_each(newest, phones, limit, time="created_at")
    )
    return [QualifiedRow(*row) for row in conn.execute(query)]


def counts_by_kind(
    conn: Connection, account_id: int, since: datetime | None, until: datetime | None
) -> list[KindCount]:
    """Calls of each kind in [since, until), and how many of them are qualified."""
    query = select(
        calls.c.kind,
        func.count(),
        func.count().filter(_is_qualified()),
    ).where(calls.c.account_id == account_id)
    if since is not None:
        query = query.where(calls.c.call_time >= since)
    if until is not None:
        query = query.where(calls.c.call_time < until)
    rows = conn.execute(query.group_by(calls.c.kind))
    return [KindCount(kind, int(n), int(done)) for kind, n, done in rows]


def counts_by_text(
    conn: Connection, account_id: int, since: datetime | None, until: datetime | None
) -> list[tuple[str, int | None, int]]:
    """(text, option id, how many) of the qualifications of the calls in
    [since, until): the edges of a range the activity rollups cut
    (store/activity.py)."""
    q = qualifications.c
    query = (
        select(q.text, q.option_id, func.count())
        .join(calls, calls.c.id == q.call_id)
        # Both sides by account: with the calls' alone SQLite scanned every
        # account's qualifications.
        .where(calls.c.account_id == account_id, q.account_id == account_id)
    )
    if since is not None:
        query = query.where(calls.c.call_time >= since)
    if until is not None:
        query = query.where(calls.c.call_time < until)
    query = query.group_by(q.text, q.option_id)
    return [(text, option, int(n)) for text, option, n in conn.execute(query)]
