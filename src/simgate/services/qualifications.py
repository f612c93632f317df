"""Call qualifications, from the phone (`mobile`) or the dashboard (`interface`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from simgate._wire import QUALIFICATION_SOURCES
from simgate.domain import payloads
from simgate.services import outbox
from simgate.services.accounts import Account
from simgate.store import calls


def record_qualification(
    conn: Connection,
    account: Account,
    from_number: str,
    text: str,
    source: str,
    now: datetime,
    call_id: int | None = None,
    at: datetime | None = None,
) -> int:
    """Store a qualification and queue its `qualification` webhook, in `conn`'s
    transaction; `at` (default `now`) is when it was made."""
    assert source in QUALIFICATION_SOURCES, source
    at = at or now
    qualification_id = calls.insert_qualification(
        conn, account.id, call_id, source, from_number, text, at
    )
    outbox.enqueue(
        conn,
        account.id,
        "qualification",
        payloads.qualification(account.email, source, from_number, text, at, account.tz),
        now=now,
    )
    return qualification_id
