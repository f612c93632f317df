"""Queries on `incoming_sms`: the SMS the account's phones received."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert

from simgate.store.tables import incoming_sms


def insert_sms(
    conn: Connection, account_id: int, device_id: int, sender: str, text: str, at: datetime
) -> None:
    conn.execute(
        insert(incoming_sms).values(
            account_id=account_id,
            device_id=device_id,
            from_number=sender,
            text=text,
            received_at=at,
        )
    )
