"""Queries on `suppressions` (the opt-out list), `suppression_events` (its
history) and `policy_refusals` (sends it refused)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from simgate.store.tables import policy_refusals, suppression_events, suppressions

# Numbers looked up per query: keeps the IN list well under every driver's limit.
LOOKUP_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Refusal:
    """A send the policy refused, as policy_refusals keeps it."""

    id_sms_api: str
    phone_number: str
    code: str


def is_empty(conn: Connection, account_id: int) -> bool:
    """Whether the account's opt-out list is empty: one seek on the primary key."""
    first = select(suppressions.c.account_id).where(suppressions.c.account_id == account_id)
    return conn.execute(first.limit(1)).first() is None


def among(
    conn: Connection, account_id: int, numbers: Collection[str], *, empty: bool | None = None
) -> set[str]:
    """Which of `numbers` are on the account's opt-out list.

    Most accounts' lists are empty: one seek on the primary key tells (or
    `empty`, when the caller knows), and a batch of 500 numbers then costs
    no IN lookup at all (1.3 ms saved)."""
    if empty is None:
        empty = is_empty(conn, account_id)
    if empty:
        return set()
    found: set[str] = set()
    ordered = sorted(numbers)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[start : start + LOOKUP_CHUNK]
        found.update(
            conn.execute(
                select(suppressions.c.phone_number).where(
                    suppressions.c.account_id == account_id,
                    suppressions.c.phone_number.in_(chunk),
                )
            ).scalars()
        )
    return found


def record_refusals(
    conn: Connection,
    account_id: int,
    refused: list[Refusal],
    campaign_id: int | None,
    now: datetime,
) -> None:
    """Keep the sends the policy refused, for the audit trail (one executemany)."""
    if not refused:
        return
    conn.execute(
        insert(policy_refusals),
        [
            {
                "account_id": account_id,
                "id_sms_api": r.id_sms_api,
                "phone_number": r.phone_number,
                "code": r.code,
                "campaign_id": campaign_id,
                "created_at": now,
            }
            for r in refused
        ],
    )


# --- the list and its history (services/suppressions.py) ---------------------------

_s = suppressions.c
_e = suppression_events.c


@dataclass(frozen=True, slots=True)
class Entry:
    """A number on the opt-out list: since when and why."""

    phone_number: str
    reason: str  # keyword / imported / manual / api
    detail: str
    since: datetime


@dataclass(frozen=True, slots=True)
class Event:
    """One change to the list."""

    id: int
    phone_number: str
    action: str  # add / remove
    reason: str
    detail: str
    at: datetime


_ENTRY = (_s.phone_number, _s.reason, _s.detail, _s.created_at)
_EVENT = (_e.id, _e.phone_number, _e.action, _e.reason, _e.detail, _e.at)


def _events(
    conn: Connection,
    account_id: int,
    numbers: list[str],
    action: str,
    reason: str,
    details: dict[str, str],
    now: datetime,
) -> None:
    conn.execute(
        insert(suppression_events),
        [
            {
                "account_id": account_id,
                "phone_number": n,
                "action": action,
                "reason": reason,
                "detail": details.get(n, ""),
                "at": now,
            }
            for n in numbers
        ],
    )


def add(
    conn: Connection,
    account_id: int,
    details: dict[str, str],
    reason: str,
    now: datetime,
) -> list[str]:
    """Put the numbers (number → detail) on the list; returns those that were
    not on it yet, each with an `add` event. Numbers already on it keep their
    entry and get no event: a repeated STOP changes nothing. A concurrent add
    of the same number is settled by the primary key (ON CONFLICT DO NOTHING):
    exactly one of them records it."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    new: set[str] = set()
    numbers = list(details)
    for start in range(0, len(numbers), LOOKUP_CHUNK):
        rows = [
            {
                "account_id": account_id,
                "phone_number": n,
                "reason": reason,
                "detail": details[n],
                "created_at": now,
            }
            for n in numbers[start : start + LOOKUP_CHUNK]
        ]
        stmt = (
            dialect.insert(suppressions)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["account_id", "phone_number"])
            .returning(_s.phone_number)
        )
        new.update(conn.execute(stmt).scalars())
    added = [n for n in numbers if n in new]
    if added:
        _events(conn, account_id, added, "add", reason, details, now)
    return added


def remove(
    conn: Connection,
    account_id: int,
    details: dict[str, str],
    reason: str,
    now: datetime,
) -> list[str]:
    """Take the numbers off the list; returns those that were on it, each
    with a `remove` event (DELETE ... RETURNING: a concurrent remove records
    it once)."""
    numbers = list(details)
    deleted: set[str] = set()
    for start in range(0, len(numbers), LOOKUP_CHUNK):
        deleted.update(
            conn.execute(
                delete(suppressions)
                .where(
                    _s.account_id == account_id,
                    _s.phone_number.in_(numbers[start : start + LOOKUP_CHUNK]),
                )
                .returning(_s.phone_number)
            ).scalars()
        )
    gone = [n for n in numbers if n in deleted]
    if gone:
        _events(conn, account_id, gone, "remove", reason, details, now)
    return gone


def _prefix_filter(prefix: str) -> Any:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return _s.phone_number.like(escaped + "%", escape="\\")


def page(
    conn: Connection,
    account_id: int,
    after: tuple[datetime, str] | None,
    limit: int,
    prefix: str = "",
) -> list[Entry]:
    """Newest first, `limit` entries after the keyset `after` (created_at,
    number); with `prefix`, only numbers that start with it."""
    query = select(*_ENTRY).where(_s.account_id == account_id)
    if prefix:
        query = query.where(_prefix_filter(prefix))
    if after is not None:
        at, number = after
        query = query.where(
            or_(_s.created_at < at, and_(_s.created_at == at, _s.phone_number < number))
        )
    query = query.order_by(_s.created_at.desc(), _s.phone_number.desc()).limit(limit)
    return [Entry(*row) for row in conn.execute(query)]


def entry(conn: Connection, account_id: int, number: str) -> Entry | None:
    row = conn.execute(
        select(*_ENTRY).where(_s.account_id == account_id, _s.phone_number == number)
    ).first()
    return None if row is None else Entry(*row)


def count(conn: Connection, account_id: int) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(suppressions).where(_s.account_id == account_id)
        ).scalar_one()
    )


def history(conn: Connection, account_id: int, number: str, limit: int) -> list[Event]:
    """The number's changes, newest first (index account, phone, at)."""
    query = (
        select(*_EVENT)
        .where(_e.account_id == account_id, _e.phone_number == number)
        .order_by(_e.at.desc(), _e.id.desc())
        .limit(limit)
    )
    return [Event(*row) for row in conn.execute(query)]


def refusals(conn: Connection, account_id: int, ids: Collection[str]) -> dict[str, Refusal]:
    """id_sms_api → the policy's refusal of it, among `ids` (the latest when
    an id was refused more than once; index account, id_sms_api)."""
    c = policy_refusals.c
    found: dict[str, Refusal] = {}
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        rows = conn.execute(
            select(c.id_sms_api, c.phone_number, c.code)
            .where(
                c.account_id == account_id, c.id_sms_api.in_(ordered[start : start + LOOKUP_CHUNK])
            )
            .order_by(c.id)
        )
        found.update((row[0], Refusal(*row)) for row in rows)
    return found


def refused_per_campaign(conn: Connection, campaign_ids: Collection[int]) -> dict[int, int]:
    """Campaign id → sends refused because the number opted out (index campaign_id)."""
    if not campaign_ids:
        return {}
    c = policy_refusals.c
    rows = conn.execute(
        select(c.campaign_id, func.count())
        .where(c.campaign_id.in_(sorted(campaign_ids)))
        .group_by(c.campaign_id)
    )
    return {int(cid): int(n) for cid, n in rows}
