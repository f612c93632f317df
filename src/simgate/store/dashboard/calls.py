"""The Calls page: calls with the device that reported them, and their qualifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from simgate.store.dashboard.common import Page, columns, keyset_page
from simgate.store.tables import calls, devices, qualifications


@dataclass(frozen=True, slots=True)
class CallRow:
    id: int
    account_id: int
    device_id: int | None
    kind: str
    phone_number: str
    call_time: datetime
    duration: str
    device_name: str | None


@dataclass(frozen=True, slots=True)
class QualificationRow:
    id: int
    account_id: int
    call_id: int | None
    source: str
    from_number: str
    text: str
    created_at: datetime
    notes: str | None  # typed beside an option chosen over v2 calls/qualify


def page_of_calls(conn: Connection, account_id: int, link: str = "") -> Page:
    """The account's calls, newest first (account + time index)."""
    query = (
        select(*columns(calls, CallRow, skip=("device_name",)), devices.c.name.label("device_name"))
        .outerjoin(devices, devices.c.id == calls.c.device_id)
        .where(calls.c.account_id == account_id)
    )
    return keyset_page(conn, query, (calls.c.call_time, calls.c.id), link, CallRow)


def qualifications_of(conn: Connection, call_ids: list[int]) -> dict[int, list[QualificationRow]]:
    """Call id → its qualifications, oldest first (every id of `call_ids` is a key)."""
    found: dict[int, list[QualificationRow]] = {i: [] for i in call_ids}
    if call_ids:
        rows = conn.execute(
            select(*columns(qualifications, QualificationRow))
            .where(qualifications.c.call_id.in_(call_ids))
            .order_by(qualifications.c.created_at)
        )
        for row in rows:
            found[row.call_id].append(QualificationRow(**row._mapping))
    return found
