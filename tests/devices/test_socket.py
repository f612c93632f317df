"""The device socket against bad frames, bad tokens and revocation (real WebSockets)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

from simgate.config import Settings
from simgate.device import protocol
from simgate.services.accounts import create_account
from simgate.services.devices import add_device, remove_device
from simgate.store.tables import calls, incoming_sms, qualifications
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.support.sockets import Sockets, close_code, next_frame


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings, heartbeat_seconds=0.3) as server:
        yield server


@pytest.fixture
def owner(live: LiveServer) -> dict[str, Any]:
    account, key = create_account(live.engine, "owner@example.com", "Europe/Paris", "FR")
    return {"login": account.email, "accessKey": key}


def test_bad_frames_get_error_frames_and_the_link_stays_up(
    live: LiveServer, sockets: Sockets, owner: dict[str, Any]
) -> None:
    token = add_device(live.engine, owner["login"], "phone")[1]
    ws = sockets.join(token, capabilities=[])
    cases = [
        ("not json", "bad_json"),
        ('["a list"]', "bad_frame"),
        ('{"type": "teleport"}', "unknown_type"),
        ('{"type": "result", "ref": "r1", "id": "1.0"}', "bad_frame"),  # no status
        (
            '{"type": "call", "ref": "c1", "event": "video_call", "number": "+33612345678"}',
            "bad_frame",
        ),
        (
            '{"type": "call", "ref": "c2", "event": "missed_call", "number": "+3361", '
            '"duration": "ten minutes"}',
            "bad_frame",
        ),
    ]
    for raw, code in cases:
        ws.send(raw)
        assert next_frame(ws, "error")["code"] == code, raw
    ws.send(json.dumps({"type": "result", "ref": "r-999", "id": "999.0", "status": "sent"}))
    error = next_frame(ws, "error")
    assert error == {
        "type": "error",
        "code": "unknown_id",
        "reason": error["reason"],
        "ref": "r-999",
    }
    # Still usable: a good report is stored and acknowledged.
    ws.send(
        json.dumps(
            {"type": "sms_received", "ref": "in-1", "from": "+33698765432", "text": "still here"}
        )
    )
    assert next_frame(ws, "ack") == {"type": "ack", "ref": "in-1"}
    ws.close()


def test_reports_are_stored_once_per_ref(
    live: LiveServer, sockets: Sockets, owner: dict[str, Any]
) -> None:
    token = add_device(live.engine, owner["login"], "phone")[1]
    ws = sockets.join(token, capabilities=[])
    frames = [
        {"type": "sms_received", "ref": "s1", "from": "+33698765432", "text": "Hi 👋 & 50%"},
        {
            "type": "call",
            "ref": "c1",
            "event": "incoming_call",
            "number": "+33698765432",
            "duration": "00:01:10",
            "at": "2026-11-25T10:00:00.000Z",
        },
        {"type": "qualification", "ref": "q1", "number": "+33698765432", "text": "interested"},
    ]
    for _ in range(2):  # the second round is a re-send after a reconnect
        for frame in frames:
            ws.send(json.dumps(frame))
            assert next_frame(ws, "ack")["ref"] == frame["ref"]
    ws.close()
    engine: Engine = live.engine
    with engine.connect() as conn:
        assert conn.execute(select(incoming_sms.c.text)).scalars().all() == ["Hi 👋 & 50%"]
        call = conn.execute(select(calls)).one()
        assert (call.kind, call.duration) == ("incoming_call", "00:01:10")
        qualification = conn.execute(select(qualifications)).one()
        assert (qualification.source, qualification.call_id) == ("mobile", call.id)


@pytest.mark.parametrize("token", ["", "sgd_not-a-real-token"])
def test_bad_token_is_closed_with_a_reason(live: LiveServer, sockets: Sockets, token: str) -> None:
    ws = sockets.open(token)
    assert close_code(ws) == (protocol.CLOSE_BAD_TOKEN, "invalid or revoked device token")


def test_a_token_in_the_url_is_not_accepted(
    live: LiveServer, sockets: Sockets, owner: dict[str, Any]
) -> None:
    token = add_device(live.engine, owner["login"], "phone")[1]
    ws = sockets.open(path=f"?token={token}")
    assert close_code(ws)[0] == protocol.CLOSE_BAD_TOKEN


def test_first_frame_must_be_hello(
    live: LiveServer, sockets: Sockets, owner: dict[str, Any]
) -> None:
    token = add_device(live.engine, owner["login"], "phone")[1]
    ws = sockets.open(token)
    ws.send(json.dumps({"type": "pong"}))
    assert close_code(ws)[0] == protocol.CLOSE_NO_HELLO
    ws = sockets.open(token)
    ws.send(json.dumps({"type": "hello", "protocol": 2}))
    assert close_code(ws)[0] == protocol.CLOSE_BAD_VERSION


def test_revoked_while_connected_is_closed_and_others_keep_going(
    live: LiveServer, sockets: Sockets, owner: dict[str, Any]
) -> None:
    doomed_id, doomed_token = add_device(live.engine, owner["login"], "doomed")
    other = sockets.join(add_device(live.engine, owner["login"], "other")[1], capabilities=[])
    doomed = sockets.join(doomed_token, capabilities=[])
    remove_device(live.engine, doomed_id)
    assert close_code(doomed) == (protocol.CLOSE_BAD_TOKEN, "device token revoked")
    other.send(
        json.dumps({"type": "sms_received", "ref": "x", "from": "+33698765432", "text": "fine"})
    )
    assert next_frame(other, "ack")["ref"] == "x"
    other.close()


def test_click_to_call_reaches_an_online_phone(
    live: LiveServer, sockets: Sockets, owner: dict[str, Any]
) -> None:
    body = {"header": {**owner, "type": "clicToCall", "phone_number": "0612345678"}}
    answer = live.post("/api/v1/clicTocall", json=body).json()
    assert answer == [
        {
            "info": "please make sure the phone is connected and inSIM is running",
            "result": "failed",
            "errors": ["#002"],
        }
    ]
    ws = sockets.join(add_device(live.engine, owner["login"], "phone")[1])
    answer = live.post("/api/v1/clicTocall", json=body).json()
    assert answer[0]["result"] == "success" and answer[0]["errors"] == []
    dial = next_frame(ws, "dial")
    assert dial["to"] == "+33612345678"
    ws.close()
    wait_for(lambda: live.post("/api/v1/clicTocall", json=body).json()[0]["result"] == "failed")
