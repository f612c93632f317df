"""The runtime's clock drives acceptance and dispatch: schedules are tested by
moving a clock, not by waiting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from simgate.config import Settings
from simgate.device import protocol
from simgate.runtime import bootstrap
from simgate.services.accounts import create_account
from simgate.services.device_reports import Reporter, apply_batch
from simgate.services.devices import add_device
from simgate.services.messages import accept_messages
from simgate.store.tables import messages
from simgate.workers.dispatcher import Dispatcher
from simgate.workers.hub import Link
from tests.support.clock import ManualClock
from tests.support.ticks import tick as _tick


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


# --- the dispatcher's rounds, driven by the clock ---------------------------------
# The dispatcher worker runs `Dispatcher.run_round` on every wake-up; here the
# test runs the rounds itself and moves the clock between them, so priorities,
# schedules and send rates are checked in simulated seconds, not waited for.


@dataclass
class Handed:
    at: float  # the clock's monotonic reading
    device_id: int
    message_id: int


class Phones:
    """A runtime on a manual clock with fake phones that record what they are handed."""

    def __init__(self, settings: Settings, engine: Engine, clock: ManualClock) -> None:
        self.clock = clock
        self.runtime = bootstrap(settings, engine, migrate=False, clock=clock)
        self.dispatcher = Dispatcher(self.runtime)
        self.account, _ = create_account(engine, "rates@example.com", "Europe/Paris", "FR")
        self.engine = engine
        self.handed: list[Handed] = []

    def connect(self, name: str, rate: int) -> int:
        device_id = add_device(self.engine, self.account.email, name, rate, clock=self.clock)[0]

        async def send(frame: dict[str, Any]) -> None:
            parsed = protocol.parse_command_id(frame["id"])
            assert frame["type"] == "send_sms" and parsed is not None, frame
            self.handed.append(Handed(self.clock.monotonic(), device_id, parsed[0]))

        async def close(code: int, reason: str) -> None:
            raise AssertionError("no phone is closed here")

        self.runtime.hub.add(
            Link(
                device_id=device_id,
                account=self.account,
                rate_per_minute=rate,
                send=send,
                close=close,
                refilled_at=self.clock.monotonic(),
            )
        )
        return device_id

    def accept(self, items: list[dict[str, Any]]) -> list[str]:
        answers, _ = accept_messages(self.engine, self.account, items, "http://x", self.clock)
        assert all(a["sent"] == 1 for a in answers), answers
        return [a["id_sms_api"] for a in answers]

    async def run_for(self, seconds: float, step: float) -> None:
        """Rounds every `step` simulated seconds, as if woken that often."""
        for _ in range(round(seconds / step)):
            await self.dispatcher.run_round()
            self.clock.advance(step)

    def order(self) -> list[str]:
        """id_sms_api of the handed messages, in hand-over order."""
        with self.engine.connect() as conn:
            names = {r.id: r.id_sms_api for r in conn.execute(select(messages))}
        return [names[h.message_id] for h in self.handed]


def numbered(count: int, **extra: Any) -> list[dict[str, Any]]:
    return [
        {"phone_number": f"+336{12000000 + i:08d}", "message": f"message {i}", **extra}
        for i in range(count)
    ]


async def test_priority_first_then_schedule(settings: Settings, engine: Engine) -> None:
    clock = ManualClock(datetime(2001, 1, 1, 9, 0, 0))
    phones = Phones(settings, engine, clock)
    # Accepted before any phone is online, then the hand-over order is watched.
    low = phones.accept(numbered(3, priorite=1))
    high = phones.accept(
        [
            {"phone_number": "+33699000001", "message": "urgent", "priority": 5},
            {"phone_number": "+33699000002", "message": "urgent too", "priorite": 9},
        ]
    )
    in_three_seconds = {"date_to_send": "2001-01-01T09:00:03Z", "priorite": 99}
    [later] = phones.accept(
        [{"phone_number": "+33699000003", "message": "later", **in_three_seconds}]
    )
    assert _state(engine, later) == "scheduled"

    phones.connect("slow", rate=60)  # one SMS a second: the order is observable
    await phones.run_for(8, step=0.25)

    order = phones.order()
    assert sorted(order) == sorted([*low, *high, later])  # each handed over once
    assert order[:2] == [high[1], high[0]]
    assert order.index(later) >= 2
    assert [i for i in order if i in low] == low
    with engine.connect() as conn:
        row = conn.execute(select(messages).where(messages.c.id_sms_api == later)).one()
    # Due at 09:00:03 and handed over in the sweep that found it due.
    assert row.send_at <= row.dispatched_at <= row.send_at + timedelta(seconds=1)


async def test_two_phones_share_the_load_within_their_rates(
    settings: Settings, engine: Engine
) -> None:
    clock = ManualClock(datetime(2001, 1, 1, 9, 0, 0))
    phones = Phones(settings, engine, clock)
    start = clock.monotonic()
    a, b = phones.connect("a", rate=120), phones.connect("b", rate=120)
    phones.accept(numbered(16))
    await phones.run_for(10, step=0.1)

    ids = [h.message_id for h in phones.handed]
    assert len(ids) == len(set(ids)) == 16
    per_phone = {d: [h.at - start for h in phones.handed if h.device_id == d] for d in (a, b)}
    assert min(len(times) for times in per_phone.values()) >= 5  # both took a real share
    for times in per_phone.values():
        # 120 a minute from one SMS in hand: never more than 1 + 2 per second so far.
        for count, elapsed in enumerate(times, start=1):
            assert count <= 1 + 2 * elapsed + 1e-9, (count, elapsed)


async def test_a_hand_over_never_acknowledged_goes_back_when_its_lease_ends(
    settings: Settings, engine: Engine
) -> None:
    clock = ManualClock(datetime(2001, 1, 1, 9, 0, 0))
    phones = Phones(settings, engine, clock)
    phones.connect("mute", rate=600)
    [only] = phones.accept(numbered(1))
    await phones.run_for(settings.lease_seconds - 1, step=1)
    assert phones.order() == [only] and _state(engine, only) == "dispatched"

    await phones.run_for(3, step=1)  # the lease ends: back in the queue, handed again
    assert phones.order() == [only, only]
    with engine.connect() as conn:
        handovers = conn.execute(
            select(messages.c.handovers).where(messages.c.id_sms_api == only)
        ).scalar_one()
    assert handovers == 2


async def test_a_message_that_failed_on_one_phone_is_retried_on_the_other(
    settings: Settings, engine: Engine
) -> None:
    clock = ManualClock(datetime(2001, 1, 1, 9, 0, 0))
    phones = Phones(settings, engine, clock)
    # The faster phone comes first in the spread: only the failure sends it elsewhere.
    fast, slow = phones.connect("fast", rate=6000), phones.connect("slow", rate=600)
    phones.accept(numbered(1))
    await phones.run_for(1, step=1)
    [handed] = phones.handed
    assert handed.device_id == fast
    result = protocol.Result("r-1", handed.message_id, 0, "failed", "no signal", None)
    [outcome] = apply_batch(
        engine,
        [(Reporter(fast, phones.account), result)],
        settings.max_send_attempts,
        settings.result_timeout_seconds,
        clock.now(),
    )
    assert outcome.reply == protocol.ack_report("r-1")

    await phones.run_for(1, step=1)
    assert [h.device_id for h in phones.handed] == [fast, slow]
