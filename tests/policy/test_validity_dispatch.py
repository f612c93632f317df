"""Expiry, SIM placement and the missed-call period at the dispatcher's and
services' level, moved by a clock of the test's own (both stores)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from simgate.config import Settings
from simgate.device import protocol
from simgate.domain import smsgate
from simgate.services import mobile
from simgate.services.accounts import Account, create_account
from simgate.services.device_reports import Reporter, apply_batch
from simgate.services.devices import add_device, connected
from simgate.services.messages import accept_messages
from simgate.services.policy import update_policy
from simgate.store import devices as device_store
from simgate.store.tables import messages
from tests.support.clock import ManualClock
from tests.support.ticks import tick as _tick

START = datetime(2030, 3, 4, 9, 0, 0)
NUMBER = "+33612345678"


def _accept(engine: Engine, account: Account, clock: ManualClock, **fields: Any) -> str:
    item = {"phone_number": NUMBER, "message": "hi", **fields}
    [answer], _ = accept_messages(engine, account, [item], "http://x", clock)
    assert answer["sent"] == 1, answer
    return str(answer["id_sms_api"])


def _state(engine: Engine, id_sms_api: str) -> str:
    with engine.connect() as conn:
        query = select(messages.c.state).where(messages.c.id_sms_api == id_sms_api)
        return str(conn.execute(query).scalar_one())


@pytest.fixture
def account(engine: Engine) -> Account:
    return create_account(engine, "validity@example.com", "Europe/Paris", "FR")[0]


def test_the_claim_expires_a_lapsed_message_instead_of_handing_it_over(
    settings: Settings, engine: Engine, account: Account
) -> None:
    clock = ManualClock(START)
    device_id = add_device(engine, account.email, "phone", clock=clock)[0]
    stale = _accept(engine, account, clock, validity=60)
    kept = _accept(engine, account, clock)
    clock.advance(61)
    # No sweep in this tick: the claim itself must not hand the stale one over.
    claimed = _tick(engine, settings, {account.id: {device_id: 10}}, clock.now(), sweep=False)
    assert [c.message for c in claimed] == ["hi"] and _state(engine, kept) == "dispatched"
    assert _state(engine, stale) == "expired"


def test_the_sweep_expires_waiting_messages_and_only_those(
    settings: Settings, engine: Engine, account: Account
) -> None:
    clock = ManualClock(START)
    scheduled = _accept(engine, account, clock, date_to_send="2030-03-04T09:10:00Z", validity=60)
    queued = _accept(engine, account, clock, validity=120)
    later = _accept(engine, account, clock, validity=3600)
    clock.advance(121)
    _tick(engine, settings, {}, clock.now(), sweep=True)
    assert _state(engine, queued) == "expired" and _state(engine, later) == "queued"
    assert _state(engine, scheduled) == "scheduled"  # valid until 09:11
    clock.advance(11 * 60)
    _tick(engine, settings, {}, clock.now(), sweep=True)
    assert _state(engine, scheduled) == "expired" and _state(engine, later) == "queued"


def test_an_unacked_hand_over_past_its_validity_expires_an_acked_one_does_not(
    settings: Settings, engine: Engine, account: Account
) -> None:
    clock = ManualClock(START)
    device_id = add_device(engine, account.email, "phone", clock=clock)[0]
    unacked = _accept(engine, account, clock, validity=60)
    acked = _accept(engine, account, clock, validity=60)
    claimed = _tick(engine, settings, {account.id: {device_id: 10}}, clock.now(), sweep=False)
    assert len(claimed) == 2
    [held] = [c for c in claimed if c.id != _id(engine, unacked)]
    reporter = Reporter(device_id, account)
    apply_batch(
        engine,
        [(reporter, protocol.Ack(held.id, held.attempts))],
        settings.max_send_attempts,
        3600,
        clock.now(),
    )
    clock.advance(max(61, settings.lease_seconds + 1))
    _tick(engine, settings, {}, clock.now(), sweep=True)
    assert _state(engine, unacked) == "expired"  # not back to the queue
    assert _state(engine, acked) == "dispatched"  # the phone holds it


def _id(engine: Engine, id_sms_api: str) -> int:
    with engine.connect() as conn:
        query = select(messages.c.id).where(messages.c.id_sms_api == id_sms_api)
        return int(conn.execute(query).scalar_one())


def test_sims_place_messages_and_frames_carry_the_slot(
    settings: Settings, engine: Engine, account: Account
) -> None:
    clock = ManualClock(START)
    one = add_device(engine, account.email, "one SIM", clock=clock)[0]
    two = add_device(engine, account.email, "two SIMs", clock=clock)[0]
    connected(engine, one, "node", clock, None)
    connected(engine, two, "node", clock, (1, 2))
    for_two = [_accept(engine, account, clock, sim=2) for _ in range(3)]
    for_three = _accept(engine, account, clock, sim=3)
    plan = {account.id: {one: 10, two: 10}}
    claimed = _tick(engine, settings, plan, clock.now(), sweep=True)
    assert sorted(c.id for c in claimed) == sorted(_id(engine, i) for i in for_two)
    assert {(c.device_id, c.sim) for c in claimed} == {(two, 2)}
    assert _state(engine, for_three) == "queued"


def test_the_expiring_queries_read_the_index(engine: Engine) -> None:
    """O(expiring): each of the sweep's queries is a range of ix_messages_expiring."""
    from sqlalchemy.dialects import postgresql, sqlite

    from simgate.store import messages as store

    now = START
    queries = [
        store.lapsed_query(now, 500, messages.c.state == "queued"),
        store.lapsed_query(now, 500, messages.c.state == "scheduled"),
        store.lapsed_query(
            now,
            500,
            messages.c.state == "dispatched",
            messages.c.acked_at.is_(None),
            messages.c.lease_until < now,
        ),
    ]
    with engine.connect() as conn:
        on_postgres = conn.dialect.name == "postgresql"
        dialect = postgresql.dialect() if on_postgres else sqlite.dialect()
        if on_postgres:  # an empty table: make the planner show what it would use
            conn.execute(text("SET enable_seqscan = off"))
        for query in queries:
            sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
            if on_postgres:
                plan = " ".join(r[0] for r in conn.execute(text("EXPLAIN " + sql)))
            else:
                rows = conn.execute(text("EXPLAIN QUERY PLAN " + sql))
                plan = " ".join(str(r[-1]) for r in rows)
            assert "ix_messages_expiring" in plan, plan
            assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan  # no sort
        assert store.expiring(conn, now, 10) == []


def test_a_missed_call_reply_once_per_period(
    settings: Settings, engine: Engine, account: Account
) -> None:
    clock = ManualClock(START)
    device_id = add_device(engine, account.email, "phone", clock=clock)[0]
    update_policy(engine, account, missed_call_reply="Call you back", missed_call_period=3600)
    reporter = Reporter(device_id, account)

    def missed(ref: str, number: str = NUMBER) -> None:
        frame = protocol.CallEvent(ref, "missed_call", number, "0", clock.now())
        apply_batch(engine, [(reporter, frame)], 3, 3600, clock.now())

    def replies() -> int:
        with engine.connect() as conn:
            return len(conn.execute(select(messages.c.id)).all())

    missed("c1")
    assert replies() == 1
    clock.advance(3599)
    missed("c2")
    missed("c2")  # a re-sent report is one report
    assert replies() == 1
    clock.advance(1)
    missed("c3")
    assert replies() == 2
    missed("c4", "0698765432")  # a national number of the account's region
    assert replies() == 3
    # A call reported long after it happened (a call log read late) gets none.
    long_ago = clock.now() - timedelta(seconds=3601)
    late = protocol.CallEvent("c5", "missed_call", "+33611111111", "0", long_ago)
    apply_batch(engine, [(reporter, late)], 3, 3600, clock.now())
    assert replies() == 3
    with engine.connect() as conn:
        numbers = conn.execute(select(messages.c.phone_number).order_by(messages.c.id)).scalars()
        assert list(numbers) == [NUMBER, NUMBER, "+33698765432"]


def test_a_pull_gives_the_app_the_earlier_validity_and_the_message_sim(
    settings: Settings, engine: Engine, account: Account
) -> None:
    clock = ManualClock(START)
    device_id, secret = add_device(
        engine, account.email, "app", kind="smsgate", sim_number=1, clock=clock
    )
    cards = [{"slotIndex": 0, "simNumber": 1}, {"slotIndex": 1, "simNumber": 2}]
    registration = smsgate.parse_registration({"name": "Pixel", "simCards": cards})
    assert mobile.register(engine, secret, registration, "test", clock.now()) is not None
    with engine.connect() as conn:
        assert device_store.sims_of(conn, [device_id])[device_id].slots == {1, 2}
        device = device_store.app_by_id(conn, device_id)
    assert device is not None
    short = _accept(engine, account, clock, validity=120, sim=2)
    plain = _accept(engine, account, clock)
    pulled = mobile.pull(engine, device, "node", False, 10, 30, 600, 10, 5, clock.now())
    items = {i["id"].split(".")[0]: i for i in pulled.messages}
    first = items[str(_id(engine, short))]
    second = items[str(_id(engine, plain))]
    assert first["validUntil"] == "2030-03-04T09:02:00.000Z" and first["simNumber"] == 2
    assert second["validUntil"] == "2030-03-04T09:10:00.000Z" and second["simNumber"] == 1
