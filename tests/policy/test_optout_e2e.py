"""Opt-out end to end on a real server, both stores: a phone reports STOP,
the `message` webhook still arrives, sends to that number are refused alone
(v1 #012, v2 RECIPIENT_OPTED_OUT, the official client's error), START lifts
it; and the v2 optouts endpoints, with accounts kept apart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from simgate.services.policy import update_policy
from simgate.services.webhook_admin import set_callbacks
from simgate.store.accounts import Account
from simgate.store.tables import messages
from tests.receivers.flask_app import FlaskReceiver
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.support.sockets import Sockets
from tests.support.v2 import call, insim, ok, other_account, refused
from tests.support.v2_phone import Phone

NUMBER = "+33612345601"
NEIGHBOURS = ["+33612345602", "+33612345603"]
CONFIRM = "You will receive no more SMS from us. START to resume."
WELCOME = "Welcome back."


@pytest.fixture
def server(shared_server: LiveServer) -> LiveServer:
    return shared_server


@pytest.fixture
def account(shared_account: dict[str, Any]) -> dict[str, Any]:
    return shared_account


@pytest.fixture
def sockets(server: LiveServer) -> Iterator[Sockets]:
    opened = Sockets(server.url)
    yield opened
    opened.close()


@pytest.fixture
def phone(server: LiveServer, sockets: Sockets, account: dict[str, Any]) -> Phone:
    return Phone(server, sockets, account["login"])


@pytest.fixture
def receiver() -> Iterator[FlaskReceiver]:
    with FlaskReceiver() as hooks:
        yield hooks


def _account(account: dict[str, Any]) -> Account:
    return Account(account["id"], account["login"], "Europe/Paris", "FR")


def v1_send(server: LiveServer, account: dict[str, Any], *items: Any) -> list[dict[str, Any]]:
    body = {"header": {"login": account["login"], "accessKey": account["accessKey"]}}
    response = server.post("/api/v1/sendsms", json={**body, "messages": list(items)})
    assert response.status_code == 200, response.text
    answers: list[dict[str, Any]] = response.json()
    return answers


def _replies(server: LiveServer, account: dict[str, Any], text: str) -> int:
    with server.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(messages)
                .where(messages.c.account_id == account["id"], messages.c.message == text)
            ).scalar_one()
        )


def test_stop_refuses_that_number_alone_and_start_lifts_it(
    server: LiveServer,
    account: dict[str, Any],
    phone: Phone,
    receiver: FlaskReceiver,
) -> None:
    set_callbacks(
        server.engine, account["login"], {"message": f"{receiver.url}/once"}, allow_private=True
    )
    update_policy(server.engine, _account(account), optout_reply=CONFIRM, optin_reply=WELCOME)

    # The phone reports "Stop" (as the radio shows it: national form).
    phone.receive("0612345601", "Stop")
    hook = wait_for(lambda: [e for e in receiver.entries() if e["kind"] == "message"])[0]
    assert hook["parsed"]["message"] == "Stop" and hook["parsed"]["from"] == "0612345601"
    confirmation = phone.take()
    assert confirmation["to"] == NUMBER and confirmation["text"] == CONFIRM
    phone.report(confirmation, "delivered")
    # A repeated STOP changes nothing and sends no second confirmation.
    phone.receive(NUMBER, "STOP !")
    wait_for(lambda: len([e for e in receiver.entries() if e["kind"] == "message"]) == 2)
    assert _replies(server, account, CONFIRM) == 1

    # v1: that number refused alone, its neighbours sent.
    answers = v1_send(
        server,
        account,
        {"phone_number": NEIGHBOURS[0], "message": "hello 1"},
        {"phone_number": "06 12 34 56 01", "message": "hello 2", "id_sms_api": "promo-1"},
        {"phone_number": NEIGHBOURS[1], "message": "hello 3"},
    )
    assert [a["sent"] for a in answers] == [1, 0, 1]
    assert answers[1]["errors"] == ["#012"] and answers[1]["id_sms_api"] == "promo-1"
    handed = {phone.handle()["to"], phone.handle()["to"]}
    assert handed == set(NEIGHBOURS)
    # v2: refused with its own error_code, and the refused id is `blocked`.
    body = refused(
        server.url,
        account,
        "sendsms",
        422,
        "RECIPIENT_OPTED_OUT",
        messages=[{"phone_number": NUMBER, "message": "v2 hello"}],
    )
    assert body["field"] == "messages[0].phone_number"
    mixed = ok(
        server.url,
        account,
        "sendsms",
        messages=[
            {"phone_number": NUMBER, "message": "a"},
            {"phone_number": NEIGHBOURS[0], "message": "b"},
        ],
    )
    assert mixed["sent_count"] == 1
    assert mixed["result"][0]["error_code"] == "RECIPIENT_OPTED_OUT"
    assert phone.handle()["to"] == NEIGHBOURS[0]
    statuses = ok(server.url, account, "sms/delivery_status", sms_ids=["promo-1", "nope"])
    assert [s["delivery_status"] for s in statuses["statuses"]] == ["blocked", "not_found"]
    assert statuses["statuses"][0]["phone_number"] == NUMBER

    # START lifts it; the welcome reaches the phone once, then sends go out.
    phone.receive(NUMBER, "start")
    welcome = phone.take()
    assert welcome["to"] == NUMBER and welcome["text"] == WELCOME
    phone.report(welcome, "delivered")
    after = v1_send(server, account, {"phone_number": NUMBER, "message": "back again"})
    assert after[0]["sent"] == 1
    assert phone.handle()["text"] == "back again"
    assert _replies(server, account, CONFIRM) == 1 and _replies(server, account, WELCOME) == 1
    checked = ok(server.url, account, "optouts/check", phone_number=NUMBER)
    assert checked["opted_out"] is False
    assert [(h["action"], h["reason"], h["detail"]) for h in checked["history"]] == [
        ("remove", "keyword", "start"),
        ("add", "keyword", "Stop"),
    ]


def test_optouts_endpoints(server: LiveServer, account: dict[str, Any]) -> None:
    added = ok(
        server.url,
        account,
        "optouts/add",
        phone_numbers=["0611111111", "+33622222222"],
        note="asked by phone",
    )
    assert added["added"] == ["+33611111111", "+33622222222"]
    assert added["already_opted_out"] == []
    again = ok(server.url, account, "optouts/add", phone_numbers=["+33611111111"])
    assert again["added"] == [] and again["already_opted_out"] == ["+33611111111"]
    checked = ok(server.url, account, "optouts/check", phone_number="06 11 11 11 11")
    assert checked["opted_out"] is True and checked["reason"] == "api"
    assert checked["detail"] == "asked by phone" and isinstance(checked["since"], str)

    first = ok(server.url, account, "optouts/list", limit=1)
    assert len(first["optouts"]) == 1 and first["has_more"] is True
    rest = ok(server.url, account, "optouts/list", limit=10, cursor=first["next_cursor"])
    listed = first["optouts"] + rest["optouts"]
    assert {o["phone_number"] for o in listed} == {"+33611111111", "+33622222222"}
    assert rest["has_more"] is False and rest["next_cursor"] is None
    found = ok(server.url, account, "optouts/list", search="+336222")
    assert [o["phone_number"] for o in found["optouts"]] == ["+33622222222"]

    # Another account neither sees nor changes this list.
    stranger = other_account(server)
    assert ok(server.url, stranger, "optouts/list")["optouts"] == []
    assert (
        ok(server.url, stranger, "optouts/check", phone_number="+33611111111")["opted_out"] is False
    )
    gone = ok(server.url, stranger, "optouts/remove", phone_numbers=["+33611111111"])
    assert gone["removed"] == [] and gone["not_opted_out"] == ["+33611111111"]
    assert ok(server.url, account, "optouts/check", phone_number="+33611111111")["opted_out"]

    removed = ok(server.url, account, "optouts/remove", phone_numbers=["+33611111111"])
    assert removed["removed"] == ["+33611111111"]

    # Errors name the field.
    bad = refused(server.url, account, "optouts/add", 422, "VALIDATION_ERROR",
                  phone_numbers=["+33633333333", "nonsense"])  # fmt: skip
    assert bad["field"] == "phone_numbers"
    assert (
        ok(server.url, account, "optouts/check", phone_number="+33633333333")["opted_out"] is False
    )
    refused(server.url, account, "optouts/add", 422, "MISSING_FIELD")
    refused(server.url, account, "optouts/add", 422, "MISSING_FIELD", phone_numbers=[])
    refused(server.url, account, "optouts/check", 422, "MISSING_FIELD")
    refused(server.url, account, "optouts/list", 422, "VALIDATION_ERROR", cursor="garbage")
    refused(server.url, account, "optouts/list", 422, "VALIDATION_ERROR", search="abc")
    refused(server.url, account, "optouts/add", 422, "VALIDATION_ERROR",
            phone_numbers=["+33633333333"], note="x" * 600)  # fmt: skip
    wrong = call(server.url, {**account, "accessKey": "nope"}, "optouts/list")
    assert wrong.status_code == 401


def test_a_campaign_skips_and_counts_opted_out_numbers(
    server: LiveServer, account: dict[str, Any]
) -> None:
    ok(server.url, account, "optouts/add", phone_numbers=[NUMBER])
    created = ok(
        server.url,
        account,
        "campaigns/create",
        name="Spring",
        message="Spring sale",
        phone_numbers=[NUMBER, *NEIGHBOURS],
    )
    cid = created["campaign"]["campaign_id"]
    started = ok(server.url, account, "campaigns/start", campaign_id=cid)
    assert started["queued"] == 2
    assert [(r["phone_number"], r["error_code"]) for r in started["refused"]] == [
        (NUMBER, "RECIPIENT_OPTED_OUT")
    ]
    campaign = ok(server.url, account, "campaigns/detail", campaign_id=cid)["campaign"]
    assert campaign["opted_out"] == 1 and campaign["pending"] == 2
    listed = ok(server.url, account, "campaigns")["campaigns"]
    assert [c["opted_out"] for c in listed if c["campaign_id"] == cid] == [1]


@pytest.mark.client_side
def test_the_official_client_says_why(
    server: LiveServer, account: dict[str, Any], tmp_path: Path
) -> None:
    ok(server.url, account, "optouts/add", phone_numbers=[NUMBER])
    done = insim(server.url, account, "sms", "send", NUMBER, "hi", home=tmp_path)  # --json
    assert done.returncode != 0
    assert "opted out" in (done.stdout + done.stderr).lower(), (done.stdout, done.stderr)
