"""v2 calls, calls/qualify, clictocall and qualifications (list, options,
stats): on both stores, over HTTP and through the official client, with a
phone that reports its calls over the device socket."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from simgate.domain.dates import utcnow
from simgate.services.accounts import create_account
from simgate.services.devices import add_device
from simgate.services.passwords import set_password
from simgate.store.tables import webhooks
from tests.support import http_client
from tests.support.agents import Agent
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.support.sockets import Sockets
from tests.support.v2 import insim, insim_json, ok, refused
from tests.support.v2_phone import Phone
from tests.web.helpers import PASSWORD, signed_in_client

FAST_AGENT = ("--sent-delay", "0.02", "--delivery-delay", "0.02")
CALL_KEYS = {"id", "call_id", "type", "phone_number", "duration", "call_time", "qualified"}


def stranger(server: LiveServer) -> dict[str, Any]:
    acc, key = create_account(server.engine, f"x{utcnow().timestamp()}@example.com", "UTC", "FR")
    return {"login": acc.email, "accessKey": key}


def some_calls(phone: Phone) -> None:
    """Three calls, oldest first: incoming (1 min 10 s), missed, outgoing."""
    now = utcnow()
    phone.call("incoming_call", "+33698765432", "00:01:10", at=now - timedelta(hours=3))
    phone.call("missed_call", "0698765432", "0", at=now - timedelta(hours=2))
    phone.call("outgoing_call", "+33611111111", "01:00:05", at=now - timedelta(hours=1))


def calls_of(server: LiveServer, account: dict[str, Any], **fields: Any) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = ok(server.url, account, "calls", **fields)["calls"]
    return calls


def new_option(server: LiveServer, account: dict[str, Any], label: str) -> str:
    body = ok(server.url, account, "qualifications/options/create", label=label)
    assert body["option"]["label"] == label and body["option"]["_id"] == body["option_id"]
    option_id: str = body["option"]["_id"]
    return option_id


# --- calls ---------------------------------------------------------------------------


def test_calls_by_type_and_number_with_durations_in_seconds(
    server: LiveServer, account: dict[str, Any], phone: Phone
) -> None:
    some_calls(phone)
    listed = ok(server.url, account, "calls", type="all", limit=10)
    calls = listed["calls"]
    assert listed["next_cursor"] is None and listed["has_more"] is False
    assert [c["type"] for c in calls] == ["outgoing", "missed", "incoming"]
    assert [c["duration"] for c in calls] == [3605, 0, 70]
    for item in calls:
        assert set(item) == CALL_KEYS and item["id"] == item["call_id"]
        assert isinstance(item["call_time"], str) and item["qualified"] is False
    assert [c["type"] for c in calls_of(server, account, type="missed")] == ["missed"]
    # The phone reported one call in E.164, one nationally: one number.
    by_number = calls_of(server, account, phone_number="+33 6 98 76 54 32", limit=10)
    assert [c["type"] for c in by_number] == ["missed", "incoming"]
    first = calls_of(server, account, limit=1)
    page = ok(server.url, account, "calls", limit=2)
    rest = ok(server.url, account, "calls", limit=2, cursor=page["next_cursor"])
    assert page["has_more"] is True and rest["has_more"] is False
    assert [c["id"] for c in page["calls"] + rest["calls"]] == [c["id"] for c in calls]
    assert first[0]["id"] == calls[0]["id"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"type": "voicemail"}, "type"),
        ({"limit": 0}, "limit"),
        ({"limit": 1000}, "limit"),
        ({"phone_number": "nope"}, "phone_number"),
        ({"qualified": "yes"}, "qualified"),
        ({"date_from": "25/11/2026"}, "date_from"),
        ({"cursor": "####"}, "cursor"),
    ],
)
def test_calls_validation(
    server: LiveServer, account: dict[str, Any], fields: dict[str, Any], field: str
) -> None:
    body = refused(server.url, account, "calls", 422, "VALIDATION_ERROR", **fields)
    assert body["field"] == field


def test_qualify_a_call_with_an_option_and_notes(
    server: LiveServer, account: dict[str, Any], phone: Phone
) -> None:
    ok(
        server.url,
        account,
        "account/webhooks",
        webhooks={"call_qualifications": "http://127.0.0.1:9/q"},
    )
    some_calls(phone)
    missed = calls_of(server, account, type="missed")[0]
    option = new_option(server, account, "Call back")
    body = ok(
        server.url,
        account,
        "calls/qualify",
        call_id=missed["call_id"],
        option_id=option,
        notes="  after 6 pm  ",
    )
    done = body["qualification"]
    assert (done["call_id"], done["option_id"], done["label"]) == (
        missed["call_id"], option, "Call back"
    )  # fmt: skip
    assert done["notes"] == "after 6 pm" and done["phone_number"] == "0698765432"
    assert calls_of(server, account, type="missed")[0]["qualified"] is True
    assert [c["type"] for c in calls_of(server, account, qualified=True)] == ["missed"]
    assert len(calls_of(server, account, qualified=False)) == 2
    # The qualification webhook is queued with the option's label, from the interface.
    with server.engine.connect() as conn:
        payloads = [
            json.loads(text)
            for text in conn.execute(
                select(webhooks.c.payload).where(
                    webhooks.c.account_id == account["id"], webhooks.c.kind == "qualification"
                )
            ).scalars()
        ]
    assert len(payloads) == 1 and "Call back" in json.dumps(payloads[0])
    assert "interface" in json.dumps(payloads[0])

    listed = ok(server.url, account, "qualifications", limit=10)
    (row,) = listed["qualifications"]
    assert (row["call_id"], row["label"], row["notes"]) == (
        missed["call_id"],
        "Call back",
        done["notes"],
    )
    assert row["call_type"] == "missed" and row["source"] == "interface"
    assert ok(server.url, account, "qualifications", phone_number="+33698765432")["qualifications"]
    assert not ok(server.url, account, "qualifications", phone_number="+33611111111")[
        "qualifications"
    ]
    assert ok(server.url, account, "qualifications", option_id=option, date_from="2020-01-01")[
        "qualifications"
    ]
    # Deleting the option hides it; the qualification keeps its text.
    ok(server.url, account, "qualifications/options/delete", option_id=option)
    assert ok(server.url, account, "qualifications")["qualifications"][0]["label"] == "Call back"
    assert ok(server.url, account, "qualifications", option_id=option)["qualifications"]
    for unknown in ("999999999", "abc", new_option(server, stranger(server), "Theirs")):
        body = refused(server.url, account, "qualifications", 404, "NOT_FOUND", option_id=unknown)
        assert body["field"] == "option_id"
    # The dashboard's Calls page shows the option and the notes beside it.
    set_password(server.engine, account["login"], PASSWORD)
    with signed_in_client(server.url, account["login"]) as dashboard:
        page = dashboard.get("/app/calls").text
    assert "Call back" in page and "after 6 pm" in page


def test_qualify_errors(server: LiveServer, account: dict[str, Any], phone: Phone) -> None:
    some_calls(phone)
    call_id = calls_of(server, account)[0]["call_id"]
    option = new_option(server, account, "Sold")

    def fails(status: int, code: str, field: str, **fields: Any) -> None:
        body = refused(server.url, account, "calls/qualify", status, code, **fields)
        assert body["field"] == field, body

    fails(422, "MISSING_FIELD", "call_id", option_id=option)
    fails(422, "MISSING_FIELD", "option_id", call_id=call_id)
    fails(404, "NOT_FOUND", "call_id", call_id="999999999", option_id=option)
    fails(404, "NOT_FOUND", "call_id", call_id="abc", option_id=option)
    fails(404, "NOT_FOUND", "option_id", call_id=call_id, option_id="999999999")
    fails(422, "VALIDATION_ERROR", "notes", call_id=call_id, option_id=option, notes="x" * 2001)
    fails(422, "VALIDATION_ERROR", "call_id", call_id=[1], option_id=option)
    # Another account's call and option are not found.
    other = stranger(server)
    theirs = new_option(server, other, "Theirs")
    fails(404, "NOT_FOUND", "option_id", call_id=call_id, option_id=theirs)
    body = refused(
        server.url, other, "calls/qualify", 404, "NOT_FOUND", call_id=call_id, option_id=theirs
    )
    assert body["field"] == "call_id"
    ok(server.url, account, "qualifications/options/delete", option_id=option)
    fails(404, "NOT_FOUND", "option_id", call_id=call_id, option_id=option)


def test_clictocall_needs_a_phone_online(
    server: LiveServer, account: dict[str, Any], sockets: Sockets
) -> None:
    body = refused(
        server.url, account, "clictocall", 409, "INVALID_STATE", phone_number="0612345678"
    )
    assert "no phone" in body["error"] and "field" not in body
    assert refused(server.url, account, "clictocall", 422, "MISSING_FIELD")["field"] == (
        "phone_number"
    )
    phone = Phone(server, sockets, account["login"])
    body = ok(server.url, account, "clictocall", phone_number="06 12 34 56 78")
    assert body["phone_number"] == "+33612345678"
    dialed = phone.answer_dial("00:02:00")
    assert dialed["to"] == "+33612345678"
    (placed,) = calls_of(server, account)
    assert (placed["type"], placed["duration"]) == ("outgoing", 120)


def test_clictocall_refuses_a_bad_number(server: LiveServer, account: dict[str, Any]) -> None:
    body = refused(server.url, account, "clictocall", 422, "VALIDATION_ERROR", phone_number="hello")
    assert body["field"] == "phone_number"


# --- options --------------------------------------------------------------------------


def test_options_create_update_delete(server: LiveServer, account: dict[str, Any]) -> None:
    first = new_option(server, account, "Interested")
    second = new_option(server, account, "Wrong number")
    options = ok(server.url, account, "qualifications/options")["options"]
    assert [(o["_id"], o["label"]) for o in options] == [
        (first, "Interested"), (second, "Wrong number")
    ]  # fmt: skip
    body = ok(
        server.url, account, "qualifications/options/update", option_id=first, label="Hot lead"
    )
    assert body["option"] == {"_id": first, "id": first, "option_id": first, "label": "Hot lead"}
    body = ok(server.url, account, "qualifications/options/delete", option_id=second)
    assert body["option"]["_id"] == second
    options = ok(server.url, account, "qualifications/options")["options"]
    assert [o["label"] for o in options] == ["Hot lead"]
    for endpoint in ("qualifications/options/update", "qualifications/options/delete"):
        body = refused(server.url, account, endpoint, 404, "NOT_FOUND", option_id=second, label="x")
        assert body["field"] == "option_id"
        body = refused(server.url, stranger(server), endpoint, 404, "NOT_FOUND",
                       option_id=first, label="x")  # fmt: skip
        assert body["field"] == "option_id"
        body = refused(server.url, account, endpoint, 422, "MISSING_FIELD", label="x")
        assert body["field"] == "option_id"


@pytest.mark.parametrize(
    ("label", "code"),
    [(None, "MISSING_FIELD"), ("   ", "MISSING_FIELD"), ("x" * 201, "VALIDATION_ERROR"),
     (5, "VALIDATION_ERROR"), ("a\x00b", "VALIDATION_ERROR")],
)  # fmt: skip
def test_option_labels_are_checked(
    server: LiveServer, account: dict[str, Any], label: Any, code: str
) -> None:
    body = refused(server.url, account, "qualifications/options/create", 422, code, label=label)
    assert body["field"] == "label"
    option = new_option(server, account, "ok")
    body = refused(server.url, account, "qualifications/options/update", 422, code,
                   option_id=option, label=label)  # fmt: skip
    assert body["field"] == "label"


# --- stats ----------------------------------------------------------------------------


def test_qualification_stats_over_a_range(
    server: LiveServer, account: dict[str, Any], phone: Phone
) -> None:
    some_calls(phone)
    phone.call("incoming_call", "+33622222222", "00:00:30", at=utcnow() - timedelta(days=10))
    sold = new_option(server, account, "Sold")
    calls = calls_of(server, account, limit=10)
    for item in calls[:2]:
        ok(server.url, account, "calls/qualify", call_id=item["call_id"], option_id=sold)
    body = ok(server.url, account, "qualifications/stats")
    assert (body["total_calls"], body["qualified_calls"]) == (4, 2)
    assert body["qualification_rate"] == 50.0
    assert body["by_type"] == {"incoming": 2, "outgoing": 1, "missed": 1}
    assert body["qualified_by_type"] == {"incoming": 0, "outgoing": 1, "missed": 1}
    assert body["by_option"] == [{"label": "Sold", "option_id": sold, "count": 2}]
    since = (utcnow() - timedelta(days=2)).strftime("%Y-%m-%d")
    recent = ok(server.url, account, "qualifications/stats", date_from=since)
    assert recent["total_calls"] == 3 and recent["date_from"] == since
    old = ok(server.url, account, "qualifications/stats", date_to=since)
    assert (old["total_calls"], old["qualified_calls"], old["qualification_rate"]) == (1, 0, 0.0)
    assert old["by_option"] == []
    body = refused(server.url, account, "qualifications/stats", 422, "VALIDATION_ERROR",
                   date_from="soon")  # fmt: skip
    assert body["field"] == "date_from"


# --- the official client --------------------------------------------------------------


@pytest.mark.client_side
def test_official_client_calls_and_qualifications(
    server: LiveServer, account: dict[str, Any], phone: Phone, tmp_path: Path
) -> None:
    some_calls(phone)

    def human(*args: str) -> str:
        done = insim(server.url, account, *args, home=tmp_path, json_mode=False)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (args, done)
        return done.stdout

    listed = insim_json(server.url, account, "calls", "list", home=tmp_path)
    assert len(listed["calls"]) == 3
    for item in listed["calls"]:
        assert isinstance(item["type"], str) and isinstance(item["phone_number"], str)
        assert isinstance(item["duration"], int) and isinstance(item["call_time"], str)
    table = human("calls", "list", "--type", "incoming", "--phone", "0698765432")
    assert "incoming" in table and "70" in table
    assert "(empty)" in human("calls", "list", "--type", "outgoing", "--phone", "0698765432")

    created = insim_json(server.url, account, "qualifications", "options-create", "Callback",
                         home=tmp_path)  # fmt: skip
    option = created["option"]["_id"]
    assert "Option 'Other' created" in human("qualifications", "options-create", "Other")
    options = insim_json(server.url, account, "qualifications", "options", home=tmp_path)
    assert [o["label"] for o in options["options"]] == ["Callback", "Other"]
    assert all(isinstance(o["_id"], str) for o in options["options"])
    assert "Callback" in human("qualifications", "options")
    other = options["options"][1]["_id"]
    assert "updated" in human("qualifications", "options-update", other, "Not interested")
    assert "deleted" in human("qualifications", "options-delete", other)

    call_id = listed["calls"][0]["call_id"]
    assert "Call qualified" in human("calls", "qualify", call_id, "--option", option,
                                     "--notes", "wants a quote")  # fmt: skip
    quals = insim_json(server.url, account, "qualifications", "list", home=tmp_path)
    assert quals["qualifications"][0]["notes"] == "wants a quote"
    assert "wants a quote" in human("qualifications", "list", "--phone", "+33611111111")
    stats = insim_json(server.url, account, "qualifications", "stats", home=tmp_path)
    assert stats["qualified_calls"] == 1 and isinstance(stats["qualification_rate"], float)
    assert "total_calls" in human("qualifications", "stats", "--from", "2020-01-01",
                                  "--to", "2099-01-01")  # fmt: skip

    offline = insim(server.url, stranger(server), "calls", "clictocall", "0612345678",
                    home=tmp_path, json_mode=False)  # fmt: skip
    assert offline.returncode == 1 and "Error [INVALID_STATE]" in offline.stderr
    assert "Calling 0612345678" in human("calls", "clictocall", "0612345678")
    phone.answer_dial()
    missing = insim(server.url, account, "calls", "qualify", "424242", "--option", option,
                    home=tmp_path, json_mode=False)  # fmt: skip
    assert missing.returncode == 1 and "Field: call_id" in missing.stderr


@pytest.mark.e2e
@pytest.mark.client_side
def test_the_reference_agent_sends_and_dials_for_the_official_client(
    server: LiveServer, account: dict[str, Any], tmp_path: Path
) -> None:
    """The whole path with `simgate device run --driver simulator`: the client
    sends an SMS the agent delivers, and a click-to-call it places."""
    token = add_device(server.engine, account["login"], "simulator")[1]
    agent = Agent(server.url, token, tmp_path / "agent", *FAST_AGENT).start()
    try:
        wait_for(lambda: ok(server.url, account, "account")["account"]["devices_connected"], 30)
        sent = insim_json(server.url, account, "sms", "send", "0612345678", "Hi", home=tmp_path)
        sms_id = sent["result"][0]["sms_id"]

        def status() -> str:
            statuses = ok(server.url, account, "sms/delivery_status", sms_id=sms_id)["statuses"]
            value: str = statuses[0]["delivery_status"]
            return value

        wait_for(lambda: status() == "delivered", 30)
        done = insim(server.url, account, "calls", "clictocall", "0612345679", home=tmp_path,
                     json_mode=False)  # fmt: skip
        assert done.returncode == 0 and "Calling 0612345679" in done.stdout
        (placed,) = wait_for(lambda: calls_of(server, account), 30)
        # The simulator reports a dialled call as lasting "00:00:05".
        assert (placed["type"], placed["phone_number"], placed["duration"]) == (
            "outgoing", "+33612345679", 5
        )  # fmt: skip
    finally:
        agent.kill()


# --- bad inputs (hypothesis) ---------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    endpoint=st.sampled_from(["calls", "qualifications", "qualifications/stats", "calls/qualify"]),
    fields=st.fixed_dictionaries(
        {},
        optional={
            "limit": st.integers(-5, 200) | json_values,
            "phone_number": st.text(max_size=20) | json_values,
            "date_from": st.sampled_from(["", "2026-01-01", "2026-02-30"]) | json_values,
            "date_to": st.text(max_size=25) | json_values,
            "type": st.sampled_from(["all", "missed", "x"]) | json_values,
            "call_id": st.text(max_size=8) | json_values,
            "option_id": st.text(max_size=8) | json_values,
            "notes": st.text(max_size=20) | json_values,
        },
    ),
)
def test_fields_never_break_the_answer(
    shared_server: LiveServer, shared_account: dict[str, Any], endpoint: str, fields: Any
) -> None:
    response = http_client.post(
        f"{shared_server.url}/api/v2/{endpoint}",
        json={"login": shared_account["login"], "accessKey": shared_account["accessKey"],
              **fields},
        timeout=30,
    )  # fmt: skip
    body = response.json()
    if body["success"] is not True:
        assert response.status_code in (404, 422), body
        assert body["error_code"] in ("VALIDATION_ERROR", "MISSING_FIELD", "NOT_FOUND")
        assert body["field"] in fields or body["field"] in ("call_id", "option_id"), body
