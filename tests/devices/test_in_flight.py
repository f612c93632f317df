"""A device's in-flight cap follows the store: hand-overs that expire free its
room without a reconnect. Real WebSockets, both stores."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from simgate.config import Settings
from simgate.domain.dates import utcnow
from simgate.services.accounts import create_account
from simgate.services.devices import add_device
from simgate.store import in_flight
from simgate.store.tables import messages
from tests.support.servers import LiveServer
from tests.support.sockets import Sockets, next_frame

CAP = 2


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(
        settings,
        max_in_flight=CAP,
        lease_seconds=0.4,
        result_timeout_seconds=0.6,
        max_handovers=20,
        heartbeat_seconds=0.3,
    ) as server:
        yield server


def states(live: LiveServer) -> dict[str, str]:
    with live.engine.connect() as conn:
        rows = conn.execute(select(messages.c.id_sms_api, messages.c.state)).all()
    return {r.id_sms_api: r.state for r in rows}


def test_a_device_that_never_reports_gets_its_room_back_without_reconnecting(
    live: LiveServer, sockets: Sockets
) -> None:
    account, key = create_account(live.engine, "owner@example.com", "Europe/Paris", "FR")
    phone = sockets.join(add_device(live.engine, account.email, "phone", 6000)[1])
    items: list[dict[str, Any]] = [
        {"phone_number": f"+3361200000{i}", "message": f"m{i}", "id_sms_api": f"m{i}"}
        for i in range(CAP + 1)
    ]
    header = {"login": account.email, "accessKey": key}
    answers = live.post("/api/v1/sendsms", json={"header": header, "messages": items}).json()
    assert [a["sent"] for a in answers] == [1] * len(items)

    # The cap: two hand-overs, and the third message waits.
    first = [next_frame(phone, "send_sms")["id"] for _ in range(CAP)]
    # Never acknowledged: the leases expire, the two go back to the queue, and
    # the same device gets them again (it dedupes by command id).
    again = [next_frame(phone, "send_sms")["id"] for _ in range(CAP)]
    assert sorted(again) == sorted(first)
    # Acknowledged this time, but no result ever comes: they fail after the
    # result timeout, and the room they held goes to the third message.
    for command_id in again:
        phone.send(json.dumps({"type": "ack", "id": command_id}))
    third = next_frame(phone, "send_sms")
    assert third["text"] == "m2" and third["id"] not in first
    assert {k: v for k, v in states(live).items() if k != "m2"} == {"m0": "failed", "m1": "failed"}


def test_held_counts_leave_out_results_waiting_to_be_stored(engine: Engine) -> None:
    account, _ = create_account(engine, "owner@example.com", "Europe/Paris", "FR")
    phone, other, idle = (add_device(engine, account.email, name)[0] for name in "abc")
    now = utcnow()

    def message(device_id: int, state: str) -> int:
        with engine.begin() as conn:
            return int(
                conn.execute(
                    insert(messages).values(
                        account_id=account.id, id_sms_api=secrets.token_hex(6), request_hash="x",
                        phone_number="+33612345678", message="hi", priority=1, encoding="GSM-7",
                        segments=1, state=state, send_at=now, created_at=now, attempts=0,
                        device_id=device_id,
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
            )  # fmt: skip

    held = [message(phone, "dispatched") for _ in range(3)]
    message(phone, "sent")
    message(phone, "queued")  # its lease expired: no longer the phone's
    message(other, "dispatched")
    with engine.connect() as conn:
        assert in_flight.held_by(conn, [phone, other, idle]) == {phone: 3, other: 1}
        assert in_flight.held_by(conn, [phone], settling={held[0], held[1]}) == {phone: 1}
        assert in_flight.held_by(conn, []) == {}


def test_results_do_not_wake_a_tick_for_an_empty_queue_but_new_messages_do(
    settings: Settings, sockets: Sockets, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a tick found the account's queue empty, a round woken only by
    results (room freed, no new work) leaves it out; a new message brings it
    back at once, long before the next sweep."""
    from simgate.services import dispatch

    ticks: list[int] = []
    real_tick = dispatch.tick

    def counted(*args: Any) -> list[dispatch.Claimed]:
        claimed = real_tick(*args)
        ticks.append(len(claimed))
        return claimed

    monkeypatch.setattr(dispatch, "tick", counted)
    slow = {"dispatch_sweep_seconds": 60.0, "dispatch_poll_seconds": 60.0}
    with LiveServer(settings, **slow) as live:
        account, key = create_account(live.engine, "owner@example.com", "Europe/Paris", "FR")
        phone = sockets.join(add_device(live.engine, account.email, "phone", 6000)[1])
        header = {"login": account.email, "accessKey": key}

        def send(text: str) -> dict[str, Any]:
            item = {"phone_number": "+33612000001", "message": text, "id_sms_api": text}
            live.post("/api/v1/sendsms", json={"header": header, "messages": [item]})
            return next_frame(phone, "send_sms", timeout=5)

        first = send("m0")
        phone.send(json.dumps({"type": "ack", "id": first["id"]}))
        # On PostgreSQL the node also hears its own NOTIFY for m0, a moment
        # later, as new work: one more tick, which is not the result's.
        time.sleep(0.5)
        before = len(ticks)
        phone.send(json.dumps({"type": "result", "ref": "r0", "id": first["id"], "status": "sent"}))
        assert next_frame(phone, "ack")["ref"] == "r0"
        assert len(ticks) == before  # the result woke the dispatcher: no tick
        assert send("m1")["text"] == "m1"  # within next_frame's 5 s: no sweep came
        assert states(live) == {"m0": "sent", "m1": "dispatched"}
