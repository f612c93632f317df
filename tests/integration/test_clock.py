"""The runtime's clock drives acceptance and dispatch: schedules are tested by
moving a clock, not by waiting."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from simgate.config import Settings
from simgate.services import dispatch
from simgate.services.accounts import create_account
from simgate.services.devices import add_device
from simgate.services.messages import accept_messages
from simgate.store.tables import messages
from tests.support.clock import ManualClock


def _tick(
    engine: Engine, settings: Settings, plan: dict[int, dict[int, int]], now: datetime, sweep: bool
) -> list[dispatch.Claimed]:
    """One dispatcher tick as the worker runs it, at `now`."""
    return dispatch.tick(
        engine,
        plan,
        settings.lease_seconds,
        settings.max_send_attempts,
        settings.max_handovers,
        settings.max_in_flight,
        set(),
        sweep,
        now,
    )


def _state(engine: Engine, id_sms_api: str) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(select(messages.c.state).where(messages.c.id_sms_api == id_sms_api))
            .scalar_one()
        )


def test_a_scheduled_message_is_due_when_the_clock_says_so(
    settings: Settings, engine: Engine
) -> None:
    # Long past by the machine's clock: only the injected one makes it a schedule.
    clock = ManualClock(datetime(2001, 1, 1, 9, 0, 0))
    account, _ = create_account(engine, "clock@example.com", "Europe/Paris", "FR")
    device_id = add_device(engine, account.email, "phone")[0]
    item = {
        "phone_number": "+33612345678",
        "message": "in an hour",
        "date_to_send": "2001-01-01T10:00:00Z",
        "id_sms_api": "later",
    }
    [answer], stored = accept_messages(engine, account, [item], "http://x", clock)
    assert stored == 1 and answer["sent"] == 1
    assert _state(engine, "later") == "scheduled"

    plan = {account.id: {device_id: 10}}
    clock.advance(59 * 60)  # 09:59: not yet
    assert _tick(engine, settings, plan, clock.now(), sweep=True) == []
    assert _state(engine, "later") == "scheduled"

    clock.advance(60)  # 10:00: due, and handed to the phone in the same tick
    [claimed] = _tick(engine, settings, plan, clock.now(), sweep=True)
    assert (claimed.device_id, claimed.message) == (device_id, "in an hour")
    assert _state(engine, "later") == "dispatched"

    with engine.connect() as conn:
        row = conn.execute(select(messages).where(messages.c.id_sms_api == "later")).one()
    assert row.dispatched_at == clock.now()
    assert row.lease_until == datetime(2001, 1, 1, 10, 0, 30)  # now + lease_seconds
