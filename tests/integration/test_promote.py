"""The sweep's promotion of scheduled messages, batch by batch."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select

from simgate.services.accounts import create_account
from simgate.store import messages as store
from simgate.store.tables import messages
from tests.integration.conftest import explain, message_row

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
                message_row(
                    account.id,
                    f"m{i}",
                    state="scheduled",
                    send_at=NOW + timedelta(minutes=minutes),
                    created_at=NOW - timedelta(hours=1),
                )
                for i, minutes in enumerate(offsets)
            ],
        )
        assert store.promote_due(conn, NOW) == 6
        states = dict(conn.execute(select(messages.c.id_sms_api, messages.c.state)).all())
    assert states == {f"m{i}": "queued" for i in range(6)} | {"m6": "scheduled"}


def _message(account_id: int, name: str, **values: object) -> dict[str, object]:
    hour_ago = NOW - timedelta(hours=1)
    return message_row(account_id, name, **({"send_at": hour_ago, "created_at": hour_ago} | values))


LATER, EARLIER = NOW + timedelta(minutes=5), NOW - timedelta(minutes=5)


@pytest.mark.parametrize(
    "work",
    [
        {"state": "scheduled", "send_at": EARLIER},  # due: promoted
        {"state": "scheduled", "send_at": LATER, "valid_until": EARLIER},  # expires
        {"state": "queued", "valid_until": EARLIER},  # expires
        {"state": "dispatched", "lease_until": EARLIER},  # lease over, not acked
        {"state": "dispatched", "lease_until": EARLIER, "acked_at": EARLIER},  # no result
    ],
)
def test_a_sweep_reads_first_whether_it_has_work(engine: Engine, work: dict[str, object]) -> None:
    """The dispatcher's sweep takes a write lock only for work (services/dispatch.tick):
    each kind of work is seen, and nothing else is."""
    account, _ = create_account(engine, "s@example.com", "Europe/Paris", "FR")
    idle = [  # waiting, or handed over, within their time; and ended ones
        {"state": "scheduled", "send_at": LATER, "valid_until": LATER},
        {"state": "queued", "valid_until": LATER},
        {"state": "queued"},
        {"state": "dispatched", "lease_until": LATER},
        {"state": "sent", "send_at": EARLIER, "valid_until": EARLIER},
        {"state": "failed", "lease_until": EARLIER},
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(messages), [_message(account.id, f"i{i}", **v) for i, v in enumerate(idle)]
        )
        assert not store.sweep_has_work(conn, NOW)
        conn.execute(insert(messages), [_message(account.id, "w", **work)])
        assert store.sweep_has_work(conn, NOW)


def test_the_sweep_probe_reads_indexes_only(
    engine: Engine, statements: list[tuple[str, object]]
) -> None:
    """A million ended messages cost the probe nothing: every part is an index range."""
    create_account(engine, "p@example.com", "Europe/Paris", "FR")
    with engine.connect() as conn:
        store.sweep_has_work(conn, NOW)
    plan = explain(engine, *statements[-1])
    assert "SCAN messages" not in plan and "Seq Scan" not in plan, plan
