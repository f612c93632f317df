"""A device's in-flight cap follows the store: hand-overs that expire free its
room without a reconnect (issue 10, bug 2). Real WebSockets, both stores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from simgate.config import Settings
from simgate.services.accounts import create_account
from simgate.services.devices import add_device
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


@pytest.fixture
def sockets(live: LiveServer) -> Iterator[Sockets]:
    opened = Sockets(live.url)
    yield opened
    opened.close()


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
