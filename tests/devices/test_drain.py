"""The first step of a graceful stop (Runtime.drain): no more hand-overs, and a
moment for the phones to acknowledge what they hold. Both stores; the whole
stop through a real SIGTERM is test_graceful_restart.py."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, insert, text

from simgate.config import Settings
from simgate.domain.dates import utcnow
from simgate.runtime import DRAIN_ACKS_SECONDS
from simgate.services.accounts import create_account
from simgate.services.devices import add_device
from simgate.store import in_flight
from simgate.store.tables import messages
from tests.support.servers import LiveServer
from tests.support.sockets import Sockets, next_frame


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings, dispatch_poll_seconds=0.05) as server:
        yield server


def test_unacked_counts_the_named_devices_unacknowledged_handovers(engine: Engine) -> None:
    account, _ = create_account(engine, "owner@example.com", "Europe/Paris", "FR")
    phone, other, idle = (add_device(engine, account.email, name)[0] for name in "abc")
    now = utcnow()

    def message(device_id: int, state: str, acked: bool = False) -> None:
        with engine.begin() as conn:
            conn.execute(
                insert(messages).values(
                    account_id=account.id, id_sms_api=secrets.token_hex(6), request_hash="x",
                    phone_number="+33612345678", message="hi", priority=1, encoding="GSM-7",
                    segments=1, state=state, send_at=now, created_at=now, attempts=0,
                    device_id=device_id, acked_at=now if acked else None,
                )
            )  # fmt: skip

    message(phone, "dispatched")
    message(phone, "dispatched")
    message(phone, "dispatched", acked=True)  # the phone holds it: not waited for
    message(phone, "sent", acked=True)
    message(phone, "queued")
    message(other, "dispatched")
    with engine.connect() as conn:
        assert in_flight.unacked(conn, [phone]) == 2
        assert in_flight.unacked(conn, [phone, other, idle]) == 3
        assert in_flight.unacked(conn, [idle]) == 0
        assert in_flight.unacked(conn, []) == 0


def test_unacked_reads_through_an_index(engine: Engine) -> None:
    """The `dispatched` rows are few; the table is not (a store keeps months)."""
    query = str(
        in_flight.unacked_query([1, 2]).compile(
            dialect=engine.dialect, compile_kwargs={"literal_binds": True}
        )
    )
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":  # an empty table: show what it would use
            conn.execute(text("SET enable_seqscan = off"))
            plan = " ".join(r[0] for r in conn.execute(text("EXPLAIN " + query)))
            assert "Seq Scan" not in plan, plan
        else:
            plan = " ".join(str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + query)))
            assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
        assert "ix_messages_" in plan, plan


def test_a_draining_node_waits_for_acks_then_hands_out_nothing(
    live: LiveServer, sockets: Sockets
) -> None:
    account, key = create_account(live.engine, "owner@example.com", "Europe/Paris", "FR")
    phone = sockets.join(add_device(live.engine, account.email, "phone", 6000)[1])
    header = {"login": account.email, "accessKey": key}

    def send(text: str) -> None:
        item = {"phone_number": "+33612345678", "message": text}
        answers = live.post("/api/v1/sendsms", json={"header": header, "messages": [item]}).json()
        assert answers[0]["sent"] == 1, answers

    send("before")
    handed = next_frame(phone, "send_sms")
    # The app's loop (uvicorn's, in the server thread): drain runs there.
    loop: asyncio.AbstractEventLoop = live.runtime.wake_dispatcher._loop  # type: ignore[assignment]
    started = time.monotonic()
    draining = asyncio.run_coroutine_threadsafe(live.runtime.drain(), loop)
    time.sleep(0.3)
    assert not draining.done()  # the phone has not acknowledged it yet
    phone.send(json.dumps({"type": "ack", "id": handed["id"]}))
    draining.result(timeout=DRAIN_ACKS_SECONDS + 2)
    assert time.monotonic() - started < DRAIN_ACKS_SECONDS
    assert live.get("/readyz").json()["reasons"] == ["shutting down"]
    # Still taken and stored, but no longer handed to the phone here: the next
    # node will hand it over.
    send("after")
    with pytest.raises(TimeoutError):
        next_frame(phone, "send_sms", timeout=0.5)


def test_drain_gives_up_on_a_phone_that_never_acks(
    live: LiveServer, sockets: Sockets, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("simgate.runtime.DRAIN_ACKS_SECONDS", 0.5)
    account, key = create_account(live.engine, "owner@example.com", "Europe/Paris", "FR")
    phone = sockets.join(add_device(live.engine, account.email, "phone", 6000)[1])
    item = {"phone_number": "+33612345678", "message": "never acked"}
    live.post("/api/v1/sendsms", json={"header": {"login": account.email, "accessKey": key},
                                       "messages": [item]})  # fmt: skip
    next_frame(phone, "send_sms")
    loop: asyncio.AbstractEventLoop = live.runtime.wake_dispatcher._loop  # type: ignore[assignment]
    started = time.monotonic()
    asyncio.run_coroutine_threadsafe(live.runtime.drain(), loop).result(5)
    assert 0.4 < time.monotonic() - started < 3
