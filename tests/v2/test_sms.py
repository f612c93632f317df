"""v2 sms, sms/detail, sms/conversation, sms/delivery_status and sendsms: on
both stores, over HTTP and through the official client, with a phone that
receives SMS and reports deliveries over the device socket."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simgate.domain import cursors
from simgate.domain.dates import utcnow
from tests.support import http_client
from tests.support.servers import LiveServer
from tests.support.v2 import insim, insim_json, ok, refused
from tests.support.v2_phone import Phone

PARIS = ZoneInfo("Europe/Paris")
SIX = {"delivered", "sent", "pending", "failed", "blocked", "not_found"}
MESSAGE_KEYS = {
    "id", "sms_id", "direction", "phone_number", "message", "date", "status",
    "delivery_status", "segments", "campaign_id",
}  # fmt: skip


def send(server: LiveServer, account: dict[str, Any], *items: dict[str, Any]) -> dict[str, Any]:
    return ok(server.url, account, "sendsms", messages=list(items))


def cli_item(number: str, text: str, url: str = "") -> dict[str, Any]:
    """A message exactly as `insim sms send` posts it (its local clock, naive)."""
    return {
        "phone_number": number,
        "message": text,
        "url": url,
        "priority": 1,
        "date_to_send": datetime.now().isoformat(),
    }


def detail(server: LiveServer, account: dict[str, Any], sms_id: str) -> dict[str, Any]:
    return ok(server.url, account, "sms/detail", sms_id=sms_id)["sms"]


def check_message(item: dict[str, Any]) -> None:
    assert set(item) == MESSAGE_KEYS, item
    assert isinstance(item["message"], str) and isinstance(item["phone_number"], str)
    assert item["direction"] in ("inbound", "outbound")
    assert item["delivery_status"] in SIX and isinstance(item["segments"], int)
    assert item["id"] == item["sms_id"] and isinstance(item["sms_id"], str)
    datetime.strptime(item["date"], "%Y-%m-%d %H:%M:%S")


# --- sendsms ------------------------------------------------------------------------


def test_sendsms_answers_a_result_per_message_and_the_sent_count(
    server: LiveServer, account: dict[str, Any]
) -> None:
    body = send(
        server,
        account,
        cli_item("0612345678", "Hello [link]", "https://example.com/offer"),
        {"phone_number": "+33 6 12 34 56 79", "message": "later", "priority": 3,
         "date_to_send": "2030-01-01 09:00:00"},
        {"phone_number": "not a number", "message": "x"},
        {"phone_number": "+33612345680", "message": "   "},
        "not an object",
    )  # fmt: skip
    assert body["sent_count"] == 2 and body["total"] == 5
    first, later, bad_number, blank, not_object = body["result"]
    assert first["sent"] == 1 and first["phone_number"] == "+33612345678"
    assert first["segments"] == 1 and isinstance(first["sms_id"], str)
    assert f"{server.url}/" in first["message"] and "[link]" not in first["message"]
    assert "error" not in first
    assert bad_number["sent"] == 0 and bad_number["error_code"] == "VALIDATION_ERROR"
    assert bad_number["field"] == "messages[2].phone_number" and bad_number["errors"] == ["#001"]
    assert blank["error_code"] == "MISSING_FIELD" and blank["field"] == "messages[3].message"
    assert not_object["field"] == "messages[4]" and not_object["sms_id"] is None
    # The CLI's clock stamp is "now" (queued), a real date schedules it.
    assert detail(server, account, first["sms_id"])["status"] == "queued"
    scheduled = detail(server, account, later["sms_id"])
    assert scheduled["status"] == "scheduled" and scheduled["delivery_status"] == "pending"
    assert scheduled["send_at"] == "2030-01-01 09:00:00" and scheduled["priority"] == 3


def test_a_client_clock_ahead_of_the_account_still_sends_now(
    server: LiveServer, account: dict[str, Any]
) -> None:
    # The client runs in Kiritimati (UTC+14), the account is in Paris: its
    # naive "now" read in Paris would be half a day ahead.
    stamp = datetime.now(ZoneInfo("Pacific/Kiritimati")).replace(tzinfo=None).isoformat()
    if "." not in stamp:
        stamp += ".5"
    body = send(server, account, {"phone_number": "+33612345678", "message": "hi",
                                  "date_to_send": stamp})  # fmt: skip
    assert detail(server, account, body["result"][0]["sms_id"])["status"] == "queued"


def test_sendsms_with_every_message_refused_is_an_error(
    server: LiveServer, account: dict[str, Any]
) -> None:
    body = refused(
        server.url,
        account,
        "sendsms",
        422,
        "VALIDATION_ERROR",
        messages=[{"phone_number": "12", "message": "x"}, {"message": "y"}],
    )
    assert body["field"] == "messages[0].phone_number"
    body = refused(
        server.url, account, "sendsms", 422, "MISSING_FIELD", messages=[{"message": "y"}]
    )
    assert body["field"] == "messages[0].phone_number"


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({}, "MISSING_FIELD", "messages"),
        ({"messages": []}, "MISSING_FIELD", "messages"),
        ({"messages": {"phone_number": "+33612345678"}}, "VALIDATION_ERROR", "messages"),
        ({"messages": "hello"}, "VALIDATION_ERROR", "messages"),
    ],
)
def test_sendsms_request_errors(
    server: LiveServer, account: dict[str, Any], fields: dict[str, Any], code: str, field: str
) -> None:
    assert refused(server.url, account, "sendsms", 422, code, **fields)["field"] == field


def test_sendsms_takes_at_most_the_configured_number_of_messages(
    server: LiveServer, account: dict[str, Any]
) -> None:
    many = server.settings.max_messages_per_request + 1
    body = refused(server.url, account, "sendsms", 422, "VALIDATION_ERROR", messages=[{}] * many)
    assert body["field"] == "messages"


# --- the history: list, detail, conversation --------------------------------------------


def test_list_merges_sent_and_received_newest_first_with_filters_and_cursor(
    server: LiveServer, account: dict[str, Any], phone: Phone
) -> None:
    now = utcnow()
    phone.receive("+33698765432", "old hello", at=now - timedelta(days=3))
    phone.receive("0698765432", "national spelling", at=now - timedelta(hours=2))
    phone.receive("+33611111111", "someone else", at=now - timedelta(hours=1))
    sent = send(server, account, {"phone_number": "+33698765432", "message": "answer"})
    sms_id = sent["result"][0]["sms_id"]
    phone.handle("delivered")

    listed = ok(server.url, account, "sms", direction="all", limit=10)
    assert [m["message"] for m in listed["messages"]] == [
        "answer", "someone else", "national spelling", "old hello"
    ]  # fmt: skip
    assert listed["next_cursor"] is None and listed["has_more"] is False
    for item in listed["messages"]:
        check_message(item)
    out = listed["messages"][0]
    assert (out["sms_id"], out["direction"], out["status"]) == (sms_id, "outbound", "received")
    assert out["delivery_status"] == "delivered" and out["campaign_id"] is None
    inbound = listed["messages"][1]
    assert inbound["sms_id"].startswith("in_") and inbound["status"] == "received"
    assert inbound["delivery_status"] == "delivered"

    def texts(**fields: Any) -> list[str]:
        return [m["message"] for m in ok(server.url, account, "sms", **fields)["messages"]]

    assert texts(direction="outbound") == ["answer"]
    assert texts(direction="inbound", limit=1) == ["someone else"]
    # Any spelling of the number, whichever way the phone reported it.
    assert texts(phone_number="06 98 76 54 32", limit=10) == [
        "answer", "national spelling", "old hello"
    ]  # fmt: skip
    yesterday = (now - timedelta(days=1)).replace(tzinfo=ZoneInfo("UTC")).astimezone(PARIS)
    assert "old hello" not in texts(date_from=yesterday.strftime("%Y-%m-%d"), limit=10)
    assert texts(date_to=(now - timedelta(days=2)).strftime("%Y-%m-%d"), limit=10) == ["old hello"]

    seen: list[str] = []
    cursor = None
    while True:
        page = ok(server.url, account, "sms", limit=1, **({"cursor": cursor} if cursor else {}))
        seen += [m["message"] for m in page["messages"]]
        cursor = page["next_cursor"]
        assert page["has_more"] is (cursor is not None)
        if cursor is None:
            break
    assert seen == ["answer", "someone else", "national spelling", "old hello"]


def test_detail_of_a_sent_message_with_events_clicks_and_link(
    server: LiveServer, account: dict[str, Any], phone: Phone
) -> None:
    sent = send(server, account, cli_item("+33612345678", "See [link]", "https://example.com/a"))
    sms_id = sent["result"][0]["sms_id"]
    phone.handle("delivered")
    found = detail(server, account, sms_id)
    assert found["url"] == "https://example.com/a" and found["short_link"].startswith(server.url)
    assert found["short_link"] in found["message"]
    assert [e["state"] for e in found["events"]][-1] == "received"
    assert found["delivery_status"] == "delivered" and found["delivered_at"]
    assert found["clicks"] == [] and found["click_count"] == 0
    http_client.get(found["short_link"], headers={"user-agent": "Mozilla/5.0 (X11)"}, timeout=10)
    http_client.get(found["short_link"], headers={"user-agent": "WhatsApp/2.23"}, timeout=10)
    found = detail(server, account, sms_id)
    assert found["click_count"] == 1 and len(found["clicks"]) == 2
    assert {c["is_preview"] for c in found["clicks"]} == {True, False}


def test_detail_of_a_received_sms_and_the_errors(
    server: LiveServer,
    account: dict[str, Any],
    phone: Phone,
    shared_account: dict[str, Any],
) -> None:
    phone.receive("+33698765432", "bonjour")
    inbound = ok(server.url, account, "sms", direction="inbound")["messages"][0]
    found = detail(server, account, inbound["sms_id"])
    assert found["message"] == "bonjour" and found["direction"] == "inbound"
    assert found["events"] == [] and found["short_link"] is None
    sent_id = send(server, account, {"phone_number": "+33612345678", "message": "x"})["result"][0][
        "sms_id"
    ]
    assert set(found) == set(detail(server, account, sent_id))
    assert found["delivered_at"] == found["date"]

    body = refused(server.url, account, "sms/detail", 404, "NOT_FOUND", sms_id="nope")
    assert body["field"] == "sms_id"
    refused(server.url, account, "sms/detail", 404, "NOT_FOUND", sms_id="in_999999999")
    refused(server.url, account, "sms/detail", 404, "NOT_FOUND", sms_id="x" * 500)
    assert refused(server.url, account, "sms/detail", 422, "MISSING_FIELD")["field"] == "sms_id"
    refused(server.url, account, "sms/detail", 422, "VALIDATION_ERROR", sms_id=["a"])


def test_another_accounts_messages_are_not_found(
    server: LiveServer, account: dict[str, Any], phone: Phone
) -> None:
    from simgate.services.accounts import create_account

    other_acc, key = create_account(server.engine, f"o{id(phone)}@example.com", "UTC", "FR")
    other = {"login": other_acc.email, "accessKey": key}
    sms_id = send(server, account, {"phone_number": "+33612345678", "message": "m"})["result"][0][
        "sms_id"
    ]
    phone.receive("+33698765432", "in")
    inbound = ok(server.url, account, "sms", direction="inbound")["messages"][0]["sms_id"]
    for name in (sms_id, inbound):
        assert refused(server.url, other, "sms/detail", 404, "NOT_FOUND", sms_id=name)
    statuses = ok(server.url, other, "sms/delivery_status", sms_ids=[sms_id, inbound])["statuses"]
    assert [s["delivery_status"] for s in statuses] == ["not_found", "not_found"]
    assert ok(server.url, other, "sms", limit=10)["messages"] == []


def test_conversation_is_the_last_messages_oldest_first(
    server: LiveServer, account: dict[str, Any], phone: Phone
) -> None:
    now = utcnow()
    for hours, text in ((5, "one"), (4, "two"), (3, "three")):
        phone.receive("+33698765432", text, at=now - timedelta(hours=hours))
    phone.receive("+33611111111", "not this one")
    send(server, account, {"phone_number": "0698765432", "message": "four"})
    body = ok(server.url, account, "sms/conversation", phone_number="0698765432", limit=3)
    assert body["phone_number"] == "+33698765432"
    assert [m["message"] for m in body["messages"]] == ["two", "three", "four"]
    assert [m["direction"] for m in body["messages"]] == ["inbound", "inbound", "outbound"]
    assert (
        refused(server.url, account, "sms/conversation", 422, "MISSING_FIELD")["field"]
        == "phone_number"
    )
    bad = refused(
        server.url, account, "sms/conversation", 422, "VALIDATION_ERROR", phone_number="12"
    )
    assert bad["field"] == "phone_number"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "5"}, "limit"),
        ({"direction": "both"}, "direction"),
        ({"phone_number": "call me"}, "phone_number"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_to": "2026-13-45"}, "date_to"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": 5}, "cursor"),
        ({"cursor": cursors.encode("2026-01-01T00:00:00+00:00", 1, 10**30)}, "cursor"),
        ({"cursor": cursors.encode("1999-01-01T00:00:00+00:00", 1, 1)}, "cursor"),
        ({"cursor": cursors.encode("2026-01-01", 1)}, "cursor"),
    ],
)
def test_list_validation(
    server: LiveServer, account: dict[str, Any], fields: dict[str, Any], field: str
) -> None:
    assert refused(server.url, account, "sms", 422, "VALIDATION_ERROR", **fields)["field"] == field


# --- delivery status ----------------------------------------------------------------


def test_delivery_status_of_one_and_of_many_in_order(
    server: LiveServer, account: dict[str, Any], phone: Phone
) -> None:
    items = [{"phone_number": f"+3361234567{i}", "message": f"m{i}"} for i in range(3)]
    ids = [r["sms_id"] for r in send(server, account, *items)["result"]]
    outcomes = {"+33612345670": "delivered", "+33612345671": "failed", "+33612345672": "sent"}
    for _ in items:
        command = phone.take()
        phone.report(command, outcomes[command["to"]], "absent subscriber")
    queued = send(server, account, {"phone_number": "+33699999999", "message": "waits"})
    # The phone never reports it: it stays pending.
    queued_id = queued["result"][0]["sms_id"]
    phone.receive("+33698765432", "a reply\nover two lines")
    inbound = ok(server.url, account, "sms", direction="inbound")["messages"][0]["sms_id"]

    asked = [ids[2], "unknown-id", ids[0], ids[1], inbound, ids[0]]
    statuses = ok(server.url, account, "sms/delivery_status", sms_ids=asked)["statuses"]
    assert [s["sms_id"] for s in statuses] == asked
    got = [s["delivery_status"] for s in statuses]
    assert got == ["sent", "not_found", "delivered", "failed", "delivered", "delivered"]
    for status in statuses:
        assert isinstance(status["description"], str) and status["description"]
        assert isinstance(status["message_preview"], str)
        assert isinstance(status["phone_number"], str)
    assert "absent subscriber" in statuses[3]["description"]
    assert statuses[4]["message_preview"] == "a reply over two lines"
    one = ok(server.url, account, "sms/delivery_status", sms_id=queued_id)["statuses"]
    assert [(s["sms_id"], s["delivery_status"]) for s in one] == [(queued_id, "pending")]


def test_delivery_status_errors(server: LiveServer, account: dict[str, Any]) -> None:
    body = refused(server.url, account, "sms/delivery_status", 422, "MISSING_FIELD")
    assert body["field"] == "sms_id"
    many = [f"id{i}" for i in range(101)]
    body = refused(
        server.url, account, "sms/delivery_status", 422, "VALIDATION_ERROR", sms_ids=many
    )
    assert body["field"] == "sms_ids"
    body = refused(
        server.url, account, "sms/delivery_status", 422, "VALIDATION_ERROR", sms_ids=[{"a": 1}]
    )
    assert body["field"] == "sms_ids"
    body = refused(server.url, account, "sms/delivery_status", 422, "VALIDATION_ERROR", sms_id=1.5)
    assert body["field"] == "sms_id"
    # Exactly 100 is fine, all unknown.
    statuses = ok(server.url, account, "sms/delivery_status", sms_ids=many[:100])["statuses"]
    assert len(statuses) == 100 and {s["delivery_status"] for s in statuses} == {"not_found"}


# --- the official client -------------------------------------------------------------


@pytest.mark.client_side
def test_official_client_sms_commands(
    server: LiveServer, account: dict[str, Any], phone: Phone, tmp_path: Path
) -> None:
    sent = insim_json(
        server.url, account, "sms", "send", "0612345678", "Hi [link]", "--url",
        "https://example.com/x", home=tmp_path,
    )  # fmt: skip
    assert sent["success"] is True and sent["sent_count"] == 1
    assert sent["result"][0]["sent"] == 1
    sms_id = sent["result"][0]["sms_id"]
    human = insim(server.url, account, "sms", "send", "+33612345679", "Again", home=tmp_path,
                  json_mode=False)  # fmt: skip
    assert human.returncode == 0 and "1 message(s) delivered" in human.stdout, human
    phone.handle("delivered")
    phone.receive("+33612345678", "Thanks!\nSee you")

    listed = insim_json(server.url, account, "sms", "list", "--limit", "10", home=tmp_path)
    assert len(listed["messages"]) == 3
    for item in listed["messages"]:
        check_message(item)
    for args in (
        ("sms", "list"),
        ("sms", "list", "--direction", "inbound", "--phone", "0612345678", "--from",
         "2020-01-01", "--to", "2099-12-31"),
        ("sms", "conversation", "0612345678"),
        ("sms", "detail", sms_id),
        ("sms", "delivery-status", sms_id),
        ("sms", "delivery-status", sms_id, "nope"),
    ):  # fmt: skip
        done = insim(server.url, account, *args, home=tmp_path, json_mode=False)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
    inbound = insim(server.url, account, "sms", "list", "--direction", "inbound", home=tmp_path,
                    json_mode=False)  # fmt: skip
    assert "<<" in inbound.stdout and "Thanks! See you" in inbound.stdout

    talk = insim_json(server.url, account, "sms", "conversation", "+33612345678", home=tmp_path)
    assert [m["direction"] for m in talk["messages"]] == ["outbound", "inbound"]
    found = insim_json(server.url, account, "sms", "detail", sms_id, home=tmp_path)
    assert found["sms"]["sms_id"] == sms_id and isinstance(found["sms"]["events"], list)
    status = insim_json(server.url, account, "sms", "delivery-status", sms_id, "nope",
                        home=tmp_path)  # fmt: skip
    assert [s["delivery_status"] for s in status["statuses"]][1] == "not_found"
    for s in status["statuses"]:
        assert isinstance(s["delivery_status"], str) and isinstance(s["message_preview"], str)
    shown = insim(server.url, account, "sms", "delivery-status", sms_id, "nope", home=tmp_path,
                  json_mode=False)  # fmt: skip
    assert "NOT_FOUND" in shown.stdout

    missing = insim(server.url, account, "sms", "detail", "nope", home=tmp_path, json_mode=False)
    assert missing.returncode == 1 and "Error [NOT_FOUND]" in missing.stderr
    assert "Field: sms_id" in missing.stderr
    bad = insim(server.url, account, "sms", "send", "12", "x", home=tmp_path, json_mode=False)
    assert bad.returncode == 1 and "Error [VALIDATION_ERROR]" in bad.stderr


# --- bad inputs (hypothesis) ---------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
message_items = st.fixed_dictionaries(
    {},
    optional={
        "phone_number": st.sampled_from(["+33612345678", "0612345678", "", "12"]) | json_values,
        "message": st.text(max_size=40) | json_values,
        "url": st.sampled_from(["", "https://example.com", "ftp://x"]) | json_values,
        "priority": st.integers(-2000, 2000) | json_values,
        "date_to_send": st.sampled_from(
            ["", "2030-01-01 10:00:00", "2026-11-25T21:04:02.967428", "garbage"]
        )
        | json_values,
        "id_sms_api": st.text(max_size=10) | json_values,
    },
)


def answered_in_the_envelope(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    if body["success"] is True:
        assert response.status_code == 200
    else:
        assert response.status_code in (404, 422), (response.status_code, body)
        assert body["error_code"] in ("VALIDATION_ERROR", "MISSING_FIELD", "NOT_FOUND")
        assert isinstance(body["error"], str) and body["field"]
    return body


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(items=st.lists(message_items | json_values, min_size=1, max_size=4))
def test_sendsms_items_never_break_the_answer(
    shared_server: LiveServer, shared_account: dict[str, Any], items: list[Any]
) -> None:
    response = http_client.post(
        f"{shared_server.url}/api/v2/sendsms",
        json={"login": shared_account["login"], "accessKey": shared_account["accessKey"],
              "messages": items},
        timeout=30,
    )  # fmt: skip
    body = answered_in_the_envelope(response)
    if body["success"]:
        assert len(body["result"]) == len(items)
        assert body["sent_count"] == sum(1 for r in body["result"] if r["sent"] == 1) > 0
        for result in body["result"]:
            assert result["sent"] in (0, 1)
            if result["sent"] == 0:
                assert result["field"].startswith("messages[") and result["error_code"]
    else:
        assert body["field"].startswith("messages")


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    fields=st.fixed_dictionaries(
        {},
        optional={
            "limit": st.integers(-5, 200) | json_values,
            "phone_number": st.text(max_size=20) | json_values,
            "date_from": st.sampled_from(["", "2026-01-01", "2026-02-30"]) | json_values,
            "date_to": st.text(max_size=25) | json_values,
            "direction": st.sampled_from(["all", "inbound", "outbound", "x"]) | json_values,
            "cursor": st.text(max_size=40) | json_values,
        },
    )
)
def test_list_fields_never_break_the_answer(
    shared_server: LiveServer, shared_account: dict[str, Any], fields: dict[str, Any]
) -> None:
    response = http_client.post(
        f"{shared_server.url}/api/v2/sms",
        content=json.dumps(
            {"login": shared_account["login"], "accessKey": shared_account["accessKey"], **fields}
        ),
        timeout=30,
    )
    body = answered_in_the_envelope(response)
    if not body["success"]:
        assert body["field"] in fields, (fields, body)
