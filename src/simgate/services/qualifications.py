"""Call qualifications, from the phone (`mobile`) or the dashboard (`interface`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert

from simgate.domain import payloads
from simgate.domain.dates import utcnow
from simgate.services import outbox
from simgate.services.accounts import Account
from simgate.store.tables import qualifications

SOURCES = ("mobile", "interface")


def record_qualification(
    conn: Connection,
    account: Account,
    from_number: str,
    text: str,
    source: str,
    call_id: int | None = None,
    at: datetime | None = None,
) -> int:
    """Store a qualification and queue its `qualification` webhook, in `conn`'s transaction."""
    assert source in SOURCES, source
    at = at or utcnow()
    qualification_id = conn.execute(
        insert(qualifications).values(
            account_id=account.id,
            call_id=call_id,
            source=source,
            from_number=from_number,
            text=text,
            created_at=at,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    outbox.enqueue(
        conn,
        account.id,
        "qualification",
        payloads.qualification(account.email, source, from_number, text, at, account.tz),
    )
    return int(qualification_id)
