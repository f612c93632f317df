"""The sweep's promotion of scheduled messages, batch by batch."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select

from simgate.services.accounts import create_account
from simgate.store import messages as store
from simgate.store.tables import messages

NOW = datetime(2026, 3, 11, 14, 20)


def test_every_due_message_is_promoted_whatever_the_batch_and_no_other(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "PROMOTE_BATCH", 2)
    account, _ = create_account(engine, "a@example.com", "Europe/Paris", "FR")
    offsets = [-50, -40, -30, -20, -10, 0, 10]  # minutes from NOW: six due, one not
    with engine.begin() as conn:
        conn.execute(
            insert(messages),
            [
                {
                    "account_id": account.id,
                    "id_sms_api": f"m{i}",
                    "request_hash": "h",
                    "phone_number": "+33612345678",
                    "message": "hello",
                    "priority": 1,
                    "encoding": "GSM-7",
                    "segments": 1,
                    "state": "scheduled",
                    "send_at": NOW + timedelta(minutes=minutes),
                    "created_at": NOW - timedelta(hours=1),
                    "attempts": 0,
                }
                for i, minutes in enumerate(offsets)
            ],
        )
        assert store.promote_due(conn, NOW) == 6
        states = dict(conn.execute(select(messages.c.id_sms_api, messages.c.state)).all())
    assert states == {f"m{i}": "queued" for i in range(6)} | {"m6": "scheduled"}
