"""Validity, SIM choice and the missed-call reply on a real server with phones
on real WebSockets, on SQLite and PostgreSQL (docs/policy.md)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from websockets.sync.client import ClientConnection

from simgate.config import Settings
from simgate.services.accounts import create_account
from simgate.services.devices import add_device, set_default_sim
from simgate.services.policy import update_policy
from simgate.services.webhook_admin import set_callbacks
from simgate.store.tables import message_events, messages
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.support.sockets import Sockets, next_frame
from tests.webhooks.conftest import Recorder

CALLER = "+33612345678"


@pytest.fixture(scope="module")
def server(shared_settings: Settings) -> Iterator[LiveServer]:
    # Sweeps often: a message's validity is seconds long here.
    with LiveServer(shared_settings, dispatch_sweep_seconds=0.2) as live:
        yield live


@pytest.fixture
def account(server: LiveServer) -> dict[str, Any]:
    email = f"{secrets.token_hex(5)}@example.com"
    acc, key = create_account(server.engine, email, "Europe/Paris", "FR")
    return {"login": acc.email, "accessKey": key, "id": acc.id, "account": acc}


@pytest.fixture
def sockets(server: LiveServer) -> Iterator[Sockets]:
    opened = Sockets(server.url)
    yield opened
    opened.close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder().start()
    yield rec
    rec.stop()


def send(server: LiveServer, account: dict[str, Any], *items: dict[str, Any]) -> list[Any]:
    body = {"header": {"login": account["login"], "accessKey": account["accessKey"]}}
    response = server.post("/api/v1/sendsms", json={**body, "messages": list(items)})
    assert response.status_code == 200, response.text
    answers: list[Any] = response.json()
    assert all(a["sent"] == 1 for a in answers), answers
    return answers


def phone(
    server: LiveServer, sockets: Sockets, account: dict[str, Any], sims: list[int] | None = None
) -> tuple[int, ClientConnection]:
    """A device of the account that says hello with `sims` (None: says nothing of them)."""
    device_id, token = add_device(server.engine, account["login"], f"p-{secrets.token_hex(3)}")
    ws = sockets.open(token)
    hello: dict[str, Any] = {"type": "hello", "protocol": 1}
    if sims is not None:
        hello["sims"] = sims
    ws.send(json.dumps(hello))
    assert json.loads(ws.recv(5))["type"] == "welcome"
    return device_id, ws


def nothing_handed(ws: ClientConnection, seconds: float) -> None:
    with pytest.raises(TimeoutError):
        frame = next_frame(ws, "send_sms", timeout=seconds)
        raise AssertionError(f"handed {frame}")


def row(server: LiveServer, id_sms_api: str) -> Any:
    with server.engine.connect() as conn:
        return conn.execute(select(messages).where(messages.c.id_sms_api == id_sms_api)).one()


def statuses(recorder: Recorder) -> list[dict[str, Any]]:
    found = []
    for request in recorder.acked():
        query = parse_qs(urlsplit(request["target"]).query)
        found += [json.loads(v) for v in query.get("status", [])]
    return found


# --- validity and `expired` -----------------------------------------------------


def test_an_expired_message_fires_its_webhook_and_never_reaches_a_phone(
    server: LiveServer, sockets: Sockets, account: dict[str, Any], recorder: Recorder
) -> None:
    set_callbacks(server.engine, account["login"], {"status": recorder.url}, allow_private=True)
    until = datetime.now(UTC) + timedelta(seconds=2)
    stale = {
        "phone_number": CALLER,
        "message": "code 1234",
        "id_sms_api": "otp-" + account["login"][:6],
        "valid_until": until.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    fresh = {
        "phone_number": CALLER,
        "message": "no limit",
        "id_sms_api": "keep-" + account["login"][:6],
    }
    send(server, account, stale, fresh)
    # No phone online: the validity ends, the sweep expires it and says so.
    [status] = wait_for(lambda: statuses(recorder), timeout=20)
    assert status["status"] == "expired" and status["id_sms_api"] == stale["id_sms_api"]
    assert status["phone_number"] == CALLER and status["user"] == account["login"]
    expired = row(server, stale["id_sms_api"])
    assert expired.state == "expired" and expired.failed_at is not None
    with server.engine.connect() as conn:
        events = (
            conn.execute(
                select(message_events.c.state).where(message_events.c.message_id == expired.id)
            )
            .scalars()
            .all()
        )
    assert events == ["expired"]

    # A phone comes online: it gets the other message, never the expired one.
    _, ws = phone(server, sockets, account)
    frame = next_frame(ws, "send_sms", timeout=10)
    assert frame["text"] == "no limit" and "valid_until" not in frame and "sim" not in frame
    nothing_handed(ws, 1.5)

    # v2 tells it as a failure whose status is `expired`.
    body = {
        "login": account["login"],
        "accessKey": account["accessKey"],
        "sms_ids": [stale["id_sms_api"]],
    }
    answer = server.post("/api/v2/sms/delivery_status", json=body)
    assert answer.status_code == 200, answer.text
    [item] = answer.json()["statuses"]
    assert (item["delivery_status"], item["status"]) == ("failed", "expired")


def test_a_phone_gets_the_validity_of_a_message_that_has_one(
    server: LiveServer, sockets: Sockets, account: dict[str, Any]
) -> None:
    _, ws = phone(server, sockets, account)
    until = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    send(
        server,
        account,
        {
            "phone_number": CALLER,
            "message": "soon",
            "valid_until": until.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )
    frame = next_frame(ws, "send_sms", timeout=10)
    assert frame["valid_until"] == until.strftime("%Y-%m-%dT%H:%M:%S.000Z")


# --- SIM choice ---------------------------------------------------------------------


def test_a_message_for_sim_2_goes_only_to_the_two_sim_device(
    server: LiveServer, sockets: Sockets, account: dict[str, Any]
) -> None:
    _, one_sim = phone(server, sockets, account)  # declares nothing: SIM 1 only
    two_sims_id, two_sims = phone(server, sockets, account, sims=[1, 2])
    tag = account["login"][:6]
    items = [
        {"phone_number": CALLER, "message": f"via 2 #{n}", "sim": 2, "id_sms_api": f"s2-{n}-{tag}"}
        for n in range(3)
    ]
    send(server, account, *items)
    frames = [next_frame(two_sims, "send_sms", timeout=10) for _ in items]
    assert sorted(f["text"] for f in frames) == sorted(i["message"] for i in items)
    assert {f["sim"] for f in frames} == {2}
    nothing_handed(one_sim, 1.5)
    assert {row(server, i["id_sms_api"]).device_id for i in items} == {two_sims_id}


def test_a_message_for_a_sim_no_device_has_waits(
    server: LiveServer, sockets: Sockets, account: dict[str, Any]
) -> None:
    _, ws = phone(server, sockets, account, sims=[1, 2])
    [answer] = send(server, account, {"phone_number": CALLER, "message": "sim 3", "sim": 3})
    nothing_handed(ws, 2)
    assert row(server, answer["id_sms_api"]).state == "queued"  # waits, does not fail
    _, three = phone(server, sockets, account, sims=[1, 2, 3])
    frame = next_frame(three, "send_sms", timeout=10)
    assert (frame["text"], frame["sim"]) == ("sim 3", 3)


def test_a_device_default_sim_goes_in_the_frame(
    server: LiveServer, sockets: Sockets, account: dict[str, Any]
) -> None:
    device_id, ws = phone(server, sockets, account, sims=[1, 2])
    set_default_sim(server.engine, account["login"], device_id, 2)
    send(
        server,
        account,
        {"phone_number": CALLER, "message": "default"},
        {"phone_number": CALLER, "message": "named", "sim": 1},
    )
    frames = {f["text"]: f for f in (next_frame(ws, "send_sms", timeout=10) for _ in range(2))}
    assert frames["default"]["sim"] == 2 and frames["named"]["sim"] == 1


# --- missed-call reply ----------------------------------------------------------------


def report_call(ws: ClientConnection, event: str, number: str) -> None:
    ref = "c-" + secrets.token_hex(6)
    ws.send(json.dumps({"type": "call", "ref": ref, "event": event, "number": number}))
    assert next_frame(ws, "ack", timeout=10)["ref"] == ref


def test_a_missed_call_gets_exactly_one_reply(
    server: LiveServer, sockets: Sockets, account: dict[str, Any], recorder: Recorder
) -> None:
    set_callbacks(server.engine, account["login"], {"calls": recorder.url}, allow_private=True)
    update_policy(server.engine, account["account"], missed_call_reply="Sorry we missed you")
    _, reporter = phone(server, sockets, account, sims=[1])
    report_call(reporter, "missed_call", CALLER)
    frame = next_frame(reporter, "send_sms", timeout=10)
    assert (frame["to"], frame["text"]) == (CALLER, "Sorry we missed you")

    report_call(reporter, "missed_call", CALLER)  # within the period: no second reply
    report_call(reporter, "missed_call", "PRIVATE")  # not a number: nothing
    report_call(reporter, "incoming_call", "+33698765432")  # answered: nothing
    nothing_handed(reporter, 1.5)
    with server.engine.connect() as conn:
        sent = (
            conn.execute(
                select(messages.c.phone_number).where(messages.c.account_id == account["id"])
            )
            .scalars()
            .all()
        )
    assert sent == [CALLER]
    # The calls webhook fires as before, for each call.
    wait_for(lambda: len(recorder.acked()) == 4, timeout=20)


def test_no_reply_when_the_account_has_none(
    server: LiveServer, sockets: Sockets, account: dict[str, Any]
) -> None:
    _, reporter = phone(server, sockets, account)
    report_call(reporter, "missed_call", CALLER)
    nothing_handed(reporter, 1.5)
