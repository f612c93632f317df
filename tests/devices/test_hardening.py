"""One device's bad frames harm nobody else.

Real WebSockets against a real server, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select
from websockets.exceptions import ConnectionClosed

from simgate.api import devices as devices_api
from simgate.clock import SYSTEM_CLOCK
from simgate.config import Settings
from simgate.device import protocol
from simgate.domain.dates import utcnow
from simgate.services.accounts import create_account
from simgate.services.device_reports import Outcome
from simgate.services.devices import add_device
from simgate.store.tables import incoming_sms, messages
from simgate.workers import reports
from simgate.workers.hub import MAX_PENDING_REPORTS
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.support.sockets import Sockets, close_code, next_frame


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings, heartbeat_seconds=0.3, lease_seconds=0.4, max_handovers=3) as server:
        yield server


@pytest.fixture
def patient(settings: Settings) -> Iterator[LiveServer]:
    """Default leases: for a test that answers its hand-overs at its own pace (on a
    loaded machine a 0.4 s lease ran out between them and the message came again)."""
    with LiveServer(settings, heartbeat_seconds=0.3) as server:
        yield server


@pytest.fixture
def patient_sockets(patient: LiveServer) -> Iterator[Sockets]:
    opened = Sockets(patient.url)
    yield opened
    opened.close()


def account(live: LiveServer, email: str) -> dict[str, Any]:
    acc, key = create_account(live.engine, email, "Europe/Paris", "FR")
    return {"login": acc.email, "accessKey": key, "id": acc.id}


def send(live: LiveServer, owner: dict[str, Any], items: list[dict[str, Any]]) -> list[Any]:
    header = {"login": owner["login"], "accessKey": owner["accessKey"]}
    answers: list[Any] = live.post(
        "/api/v1/sendsms", json={"header": header, "messages": items}
    ).json()
    return answers


def state_of(live: LiveServer, id_sms_api: str) -> Any:
    with live.engine.connect() as conn:
        return conn.execute(
            select(messages.c.id, messages.c.state, messages.c.fail_reason).where(
                messages.c.id_sms_api == id_sms_api
            )
        ).one()


# Frames that each used to throw away the whole shared batch of reports
# (every tenant's), or crash the connection handler.
# A time no clock could give is replaced by the server's: those reports are kept.
KEPT = [
    {"type": "sms_received", "ref": "p1", "from": "+1", "text": "x",
     "at": "9999-12-31T23:59:59-05:00"},
    {"type": "call", "ref": "p2", "event": "missed_call", "number": "+1",
     "at": "9999-12-31T23:59:59Z"},
]
REFUSED = [
    {"type": "ack", "id": "99999999999999999999999.0"},
    {"type": "sms_received", "ref": "p3", "from": "+1", "text": "nul \u0000 byte"},
    {"type": "result", "ref": "p4", "id": "\u00b2.1", "status": "sent"},
    {"type": "sms_received", "ref": "p5", "from": "+1" + "2" * 40, "text": "x"},
]


def test_one_tenants_bad_frames_do_not_lose_another_tenants_reports(
    patient: LiveServer, patient_sockets: Sockets
) -> None:
    live, sockets = patient, patient_sockets
    victim = account(live, "victim@example.com")
    attacker = account(live, "attacker@example.com")
    phone = sockets.join(add_device(live.engine, victim["login"], "phone", 6000)[1])
    evil = sockets.join(add_device(live.engine, attacker["login"], "evil")[1], capabilities=[])
    answers = send(live, victim, [
        {"phone_number": f"+336120000{i:02d}", "message": f"m{i}"} for i in range(10)
    ])
    assert all(a["sent"] == 1 for a in answers)
    commands = [next_frame(phone, "send_sms") for _ in answers]
    for round_, command in enumerate(commands):
        # The attacker's frames go out first, so that both land in one batch.
        for frame in KEPT + REFUSED:
            evil.send(json.dumps({**frame, "ref": f"{frame.get('ref', 'x')}-{round_}"}))
        phone.send(json.dumps({"type": "ack", "id": command["id"]}))
        for kind, status in (("result", "sent"), ("delivery", "delivered")):
            phone.send(json.dumps(
                {"type": kind, "ref": f"{kind}-{round_}", "id": command["id"], "status": status}
            ))
        phone.send(json.dumps(
            {"type": "sms_received", "ref": f"in-{round_}", "from": "+33698765432", "text": "hi"}
        ))
        acked = {next_frame(phone, "ack")["ref"] for _ in range(3)}
        assert acked == {f"result-{round_}", f"delivery-{round_}", f"in-{round_}"}
    for a in answers:
        assert state_of(live, a["id_sms_api"]).state == "received"
    with live.engine.connect() as conn:
        texts = conn.execute(
            select(incoming_sms.c.text).where(incoming_sms.c.account_id == victim["id"])
        ).scalars().all()
        assert texts == ["hi"] * 10
        kept = conn.execute(
            select(incoming_sms.c.received_at).where(incoming_sms.c.account_id == attacker["id"])
        ).scalars().all()
        assert len(kept) == 10 and all(at.year == utcnow().year for at in kept)
    # The attacker was told, frame by frame; reports name their ref so the device drops them.
    answers_to_evil = []
    while len(answers_to_evil) < len(KEPT + REFUSED) * 10:
        answer = json.loads(evil.recv(5))
        if answer["type"] != "ping":
            answers_to_evil.append(answer)
    errors = [a for a in answers_to_evil if a["type"] == "error"]
    assert len(errors) == len(REFUSED) * 10 and {e["code"] for e in errors} == {"bad_frame"}
    assert sum(1 for e in errors if "ref" in e) == (len(REFUSED) - 1) * 10


@pytest.mark.parametrize(
    "hello",
    [
        '{"type":"hello","protocol":1,"capabilities":[{"a":1}]}',
        '{"type":"hello","protocol":true}',
        "[" * 100_000 + "]" * 100_000,
        '{"type":"hello","protocol":1,"capabilities":' + "[" * 100_000 + "]" * 100_000 + "}",
    ],
)
def test_a_hello_that_crashed_the_handler_is_closed_with_4004(
    live: LiveServer, sockets: Sockets, hello: str
) -> None:
    owner = account(live, "owner@example.com")
    ws = sockets.open(add_device(live.engine, owner["login"], "phone")[1])
    ws.send(hello)
    code, reason = close_code(ws)
    assert code == protocol.CLOSE_NO_HELLO and reason.startswith("bad hello")


def test_a_deeply_nested_frame_after_hello_is_an_error_frame(
    live: LiveServer, sockets: Sockets
) -> None:
    owner = account(live, "owner@example.com")
    ws = sockets.join(add_device(live.engine, owner["login"], "phone")[1], capabilities=[])
    ws.send("[" * 100_000 + "]" * 100_000)
    assert next_frame(ws, "error")["code"] == "bad_json"
    ws.send(json.dumps({"type": "sms_received", "ref": "ok", "from": "+1", "text": "x"}))
    assert next_frame(ws, "ack")["ref"] == "ok"


def test_only_the_device_holding_a_message_may_report_on_it(
    live: LiveServer, sockets: Sockets
) -> None:
    owner = account(live, "owner@example.com")
    holder = sockets.join(add_device(live.engine, owner["login"], "holder")[1])
    other = sockets.join(add_device(live.engine, owner["login"], "other")[1], capabilities=[])
    [answer] = send(live, owner, [{"phone_number": "+33612000001", "message": "mine"}])
    command = next_frame(holder, "send_sms")
    holder.send(json.dumps({"type": "ack", "id": command["id"]}))
    other.send(json.dumps({"type": "result", "ref": "steal", "id": command["id"],
                           "status": "sent"}))
    assert next_frame(other, "error") == {
        "type": "error", "code": "unknown_id", "ref": "steal",
        "reason": f"message {command['id'].split('.')[0]} is not held by this device",
    }
    other.send(json.dumps({"type": "delivery", "ref": "steal-2", "id": command["id"],
                           "status": "delivered"}))
    assert next_frame(other, "error")["code"] == "unknown_id"
    assert state_of(live, answer["id_sms_api"]).state == "dispatched"
    holder.close()  # nothing acked that the holder did not: still its message to report on

    # A message still queued (no phone can take SMS now) belongs to no device yet.
    [queued] = send(live, owner, [{"phone_number": "+33612000002", "message": "wait"}])
    row = state_of(live, queued["id_sms_api"])
    other.send(json.dumps({"type": "result", "ref": "early", "id": f"{row.id}.0",
                           "status": "sent"}))
    assert next_frame(other, "error")["code"] == "unknown_id"
    assert state_of(live, queued["id_sms_api"]).state == "queued"


def test_a_message_no_device_acknowledges_fails_instead_of_blocking_the_queue(
    live: LiveServer, sockets: Sockets
) -> None:
    owner = account(live, "owner@example.com")
    # A fast rate: the default one (one SMS in two seconds) spaced the hand-overs.
    mute = sockets.join(add_device(live.engine, owner["login"], "mute", 6000)[1])
    [stuck] = send(live, owner, [{"phone_number": "+33612000001", "message": "never acked"}])
    handed = [next_frame(mute, "send_sms", timeout=10)["id"] for _ in range(3)]
    assert len(set(handed)) == 1  # the same hand-over, repeated after each lease
    row = wait_for(
        lambda: (r := state_of(live, stuck["id_sms_api"])).state == "failed" and r, timeout=10
    )
    assert row.fail_reason == "handed to a device 3 times and never acknowledged"
    # The queue moves on: the next message is handed over and, acked, is the device's.
    [after] = send(live, owner, [{"phone_number": "+33612000002", "message": "next"}])
    command = next_frame(mute, "send_sms")
    assert command["text"] == "next"
    mute.send(json.dumps({"type": "ack", "id": command["id"]}))
    mute.send(json.dumps({"type": "result", "ref": "r", "id": command["id"], "status": "sent"}))
    assert next_frame(mute, "ack")["ref"] == "r"
    assert state_of(live, after["id_sms_api"]).state == "sent"


def test_a_stored_message_too_long_for_any_device_fails_and_the_next_one_goes(
    live: LiveServer, sockets: Sockets
) -> None:
    owner = account(live, "owner@example.com")
    # Stored before sendsms refused such texts (#010): 7,190 parts.
    with live.engine.begin() as conn:
        conn.execute(insert(messages).values(
            account_id=owner["id"], id_sms_api="legacy", request_hash="", priority=9,
            phone_number="+33612000001", message="x" * 1_100_000, encoding="GSM-7",
            segments=7190, state="queued", send_at=utcnow(), created_at=utcnow(), attempts=0,
        ))
    [after] = send(live, owner, [{"phone_number": "+33612000002", "message": "next"}])
    phone = sockets.join(add_device(live.engine, owner["login"], "phone")[1])
    assert next_frame(phone, "send_sms")["text"] == "next"
    row = state_of(live, "legacy")
    assert (row.state, row.fail_reason) == ("failed", "too long for a device to take")
    assert state_of(live, after["id_sms_api"]).state == "dispatched"


def test_a_flooding_device_waits_behind_its_own_reports(
    live: LiveServer, sockets: Sockets
) -> None:
    victim = account(live, "victim@example.com")
    flooder = account(live, "flooder@example.com")
    quiet = sockets.join(add_device(live.engine, victim["login"], "quiet")[1], capabilities=[])
    loud = sockets.join(add_device(live.engine, flooder["login"], "loud")[1], capabilities=[])
    queue: reports.ReportQueue = live.runtime.reports
    most = [0]
    done = threading.Event()

    def watch() -> None:  # how many frames wait for the writer, at most
        while not done.is_set():
            most[0] = max(most[0], queue.waiting())
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    # Four connections' shares; the quiet device speaks once two wait. (2,000 took
    # long enough on a loaded machine for the loud socket's keepalive to time out:
    # its pong waits in TCP behind the frames the server does not read yet.)
    flood = 4 * MAX_PENDING_REPORTS
    try:
        for i in range(flood):
            loud.send(json.dumps({"type": "sms_received", "ref": f"f{i}", "from": "+1",
                                  "text": "x"}))
            if i == 2 * MAX_PENDING_REPORTS:
                quiet.send(json.dumps({"type": "sms_received", "ref": "q", "from": "+1",
                                       "text": "me"}))
        assert next_frame(quiet, "ack", timeout=30)["ref"] == "q"
        # The flood is stored in full, at its own pace...
        assert {next_frame(loud, "ack", timeout=30)["ref"] for _ in range(flood)} == {
            f"f{i}" for i in range(flood)
        }
    finally:
        done.set()
        watcher.join()
    # ...and never more of it than one connection's share waited in front of others.
    assert 0 < most[0] <= MAX_PENDING_REPORTS + 1


def test_a_device_that_stops_reading_is_closed_and_blocks_nobody(
    live: LiveServer, sockets: Sockets, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(devices_api, "MAX_OUTGOING", 8)
    slow = account(live, "slow@example.com")
    other = account(live, "other@example.com")
    # A device that stops reading: a tiny receive window, and its client library
    # stops reading the socket once one frame is waiting.
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", live.port))
    deaf = sockets.open(add_device(live.engine, slow["login"], "deaf", 6000)[1], sock=raw,
                        max_queue=1)
    deaf.send(json.dumps({"type": "hello", "protocol": 1}))
    long_text = "x" * 39_000  # 255 parts: the longest SMS there is
    for batch in range(2):  # 6 MB of frames, in requests under the 5 MB limit
        answers = send(live, slow, [
            {"phone_number": f"+3361{batch}{i:06d}", "message": long_text} for i in range(75)
        ])
        assert all(a["sent"] == 1 for a in answers)
    # Once the deaf device's own queue is full, it is closed; nobody else waited.
    phone = sockets.join(add_device(live.engine, other["login"], "phone", 6000)[1])
    [answer] = send(live, other, [{"phone_number": "+33612000001", "message": "on time"}])
    assert next_frame(phone, "send_sms", timeout=10)["text"] == "on time"
    deadline = time.monotonic() + 15
    with pytest.raises(ConnectionClosed) as info:
        while time.monotonic() < deadline:
            deaf.recv(10)
    assert info.value.rcvd is not None and info.value.rcvd.code == protocol.CLOSE_TOO_SLOW


# --- the report writer: a frame the store refuses fails alone ------------------


class FakeLink:
    """Stands in for a connection: records what the writer answers."""

    def __init__(self, device_id: int, account_id: int) -> None:
        from simgate.services.accounts import Account

        self.device_id = device_id
        self.account = Account(account_id, f"a{account_id}@example.com", "Europe/Paris", "FR")
        self.sent: list[dict[str, Any]] = []
        self.report_slots = asyncio.Semaphore(MAX_PENDING_REPORTS)

    async def send(self, frame: dict[str, Any]) -> None:
        self.sent.append(frame)


def test_a_frame_the_store_refuses_fails_alone(settings: Settings, engine: Engine) -> None:
    good_id = create_account(engine, "good@example.com")[0].id
    bad_id = create_account(engine, "bad@example.com")[0].id
    good_device = add_device(engine, "good@example.com", "phone")[0]
    bad_device = add_device(engine, "bad@example.com", "phone")[0]
    good, bad = FakeLink(good_device, good_id), FakeLink(bad_device, bad_id)
    # Past the checks of protocol.py, something the store still refuses:
    # SQLite cannot bind an integer over 64 bits, PostgreSQL refuses NUL in text.
    poison: Any = (
        protocol.SmsReceived("poison", "+1", "nul \x00", None)
        if engine.dialect.name == "postgresql"
        else protocol.Result("poison", 2**70, 0, "sent", "", None)
    )
    batch = [
        (good, protocol.SmsReceived("g1", "+33698765432", "one", None)),
        (bad, poison),
        (good, protocol.SmsReceived("g2", "+33698765432", "two", None)),
    ]

    async def main() -> list[Outcome]:
        return await reports._apply(engine, settings, SYSTEM_CLOCK, batch)  # type: ignore[arg-type]

    outcomes = asyncio.run(main())
    assert outcomes[0].reply == {"type": "ack", "ref": "g1"}
    assert outcomes[2].reply == {"type": "ack", "ref": "g2"}
    assert outcomes[1].reply is not None
    assert (outcomes[1].reply["code"], outcomes[1].reply["ref"]) == ("rejected", "poison")
    with engine.connect() as conn:
        assert conn.execute(select(incoming_sms.c.text)).scalars().all() == ["one", "two"]


def test_batches_take_frames_from_each_waiting_device_in_turn() -> None:
    async def main() -> list[list[str]]:
        queue = reports.ReportQueue()
        loud, quiet = FakeLink(1, 1), FakeLink(2, 2)
        for i in range(6):
            queue.submit(loud, protocol.SmsReceived(f"l{i}", "+1", "x", None))  # type: ignore[arg-type]
        queue.submit(quiet, protocol.SmsReceived("q0", "+1", "x", None))  # type: ignore[arg-type]
        batches = []
        while queue.waiting():
            batch = await queue.take(limit=3)
            batches.append([frame.ref for _, frame in batch])  # type: ignore[union-attr]
        return batches

    assert asyncio.run(main()) == [["l0", "q0", "l1"], ["l2", "l3", "l4"], ["l5"]]


