"""Request building and answer reading, without a server (the live tests cover the wire)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

import simgate
from simgate.client._base import BaseClient, read_answer
from simgate.client._retry import RetryPolicy


def client() -> BaseClient:
    return BaseClient("me@example.com", "key", "http://127.0.0.1:9", 3, 0.5)


def body(call: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(call.body)
    return data


def test_sms_wire_form_and_dates() -> None:
    aware = datetime(2026, 4, 1, 10, 16, 10, tzinfo=timezone(timedelta(hours=2)))
    items = body(
        client()._sendsms_call(
            [
                simgate.Sms("+33612345678", "a", url="https://e.com/", priority=2),
                simgate.Sms("+33612345678", "b", date_to_send=datetime(2026, 4, 1, 10, 16, 10)),
                simgate.Sms("+33612345678", "c", date_to_send=aware, id_sms_api="x"),
                {"phone_number": "+1", "message": "d", "date_to_send": aware, "id_sms_api": ""},
                {"phone_number": "+1", "message": "e", "date_to_send": "2026-04-01 10:16"},
            ]
        )
    )["messages"]
    assert items[0] == {
        "phone_number": "+33612345678",
        "message": "a",
        "url": "https://e.com/",
        "priorite": 2,
        "id_sms_api": items[0]["id_sms_api"],
    }
    assert items[1]["date_to_send"] == "2026-04-01 10:16:10"
    assert items[2]["date_to_send"] == "2026-04-01T10:16:10+02:00"
    assert items[2]["id_sms_api"] == "x"
    assert items[3]["date_to_send"] == "2026-04-01T10:16:10+02:00"
    assert items[4]["date_to_send"] == "2026-04-01 10:16"  # strings pass through
    ids = [i["id_sms_api"] for i in items]
    assert all(re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", i) for i in ids)
    assert len(set(ids)) == 5


def test_sms_policy_fields_are_sent_only_when_set() -> None:
    until = datetime(2026, 4, 1, 10, 30, tzinfo=UTC)
    [full, plain] = body(
        client()._sendsms_call(
            [
                simgate.Sms("+33612345678", "a", validity=300, sim=2, marketing=False),
                simgate.Sms("+33612345678", "b", valid_until=until, marketing=True),
            ]
        )
    )["messages"]
    assert (full["validity"], full["sim"], full["marketing"]) == (300, 2, False)
    assert "valid_until" not in full
    assert plain["valid_until"] == "2026-04-01T10:30:00+00:00" and plain["marketing"] is True
    assert {"validity", "sim"}.isdisjoint(plain)


def test_body_header_and_single_items() -> None:
    sent = body(client()._sendsms_call(simgate.Sms("+1", "x")))
    assert sent["header"] == {"login": "me@example.com", "accessKey": "key"}
    assert len(sent["messages"]) == 1
    contacts = body(client()._contacts_call({"phone_number": "+1"}))
    assert contacts["contacts"] == [{"phone_number": "+1"}]
    call = body(client()._call_call("+1"))
    assert call["header"]["type"] == "clicToCall" and call["header"]["phone_number"] == "+1"
    with pytest.raises(TypeError):
        client()._sendsms_call(["not a message"])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        BaseClient("", "key", "http://x", 0, 0)


def answer(status: int, content: Any, raw: bool = False) -> httpx.Response:
    data = content if raw else json.dumps(content).encode()
    return httpx.Response(status, content=data)


@pytest.mark.parametrize(
    ("status", "content", "error", "code"),
    [
        (400, {"result": "failed", "errors": ["#100"], "info": "i"}, simgate.BadRequest, "#100"),
        (400, {"result": "failed", "errors": ["#101"], "info": "i"}, simgate.BadRequest, "#101"),
        (401, {"result": "failed", "errors": ["#102"]}, simgate.AuthenticationError, "#102"),
        (413, {"result": "failed", "errors": ["#103"]}, simgate.PayloadTooLarge, "#103"),
        (413, {"result": "failed", "errors": ["#104"]}, simgate.PayloadTooLarge, "#104"),
        (200, {"result": "failed", "errors": ["#102"]}, simgate.AuthenticationError, "#102"),
        (500, {"detail": "boom"}, simgate.ServerError, None),
        (418, {"detail": "teapot"}, simgate.ApiError, None),
        (200, {"data": {}}, simgate.UnexpectedResponse, None),
        (200, [{"sent": 1}, {"sent": 1}], simgate.UnexpectedResponse, None),
        (200, [1], simgate.UnexpectedResponse, None),
    ],
)
def test_whole_failures(status: int, content: Any, error: type, code: str | None) -> None:
    with pytest.raises(error) as caught:
        read_answer(client()._sendsms_call([simgate.Sms("+1", "x")]), answer(status, content))
    assert type(caught.value) is error and caught.value.code == code
    assert caught.value.status_code == status


def test_not_json() -> None:
    call = client()._sendsms_call([])
    with pytest.raises(simgate.UnexpectedResponse):
        read_answer(call, answer(200, b"<html>", raw=True))
    with pytest.raises(simgate.ServerError) as caught:
        read_answer(call, answer(502, b"Bad Gateway", raw=True))
    assert caught.value.status_code == 502


def test_results_are_read_leniently() -> None:
    sent = simgate.SentSms.from_wire(
        {"id_sms_api": "a", "sent": 0, "errors": ["#001"], "phone_number": None, "message": None}
    )
    assert (sent.sent, sent.errors, sent.phone_number, sent.sent_time) == (
        False,
        ["#001"],
        "",
        None,
    )
    ok = simgate.SentSms.from_wire({"sent": 1, "sent_time": "2025-10-29T10:16:10.541Z"})
    assert ok.sent and ok.sent_time == datetime(2025, 10, 29, 10, 16, 10, 541000, tzinfo=UTC)
    assert simgate.SentSms.from_wire({"sent_time": "2025-10-29T10:16:10"}).sent_time == datetime(
        2025, 10, 29, 10, 16, 10, tzinfo=UTC
    )
    success = simgate.ContactResult.from_wire(
        {"firstname": "J", "lastname": "D", "phonenumber": "+1", "adress": "x", "result": "success"}
    )
    failed = simgate.ContactResult.from_wire(
        {
            "first_name": "J",
            "last_name": "D",
            "phone_number": "+1",
            "result": "failed",
            "errors": ["#001"],
        }
    )
    assert (success.first_name, success.phone_number, success.address, success.ok) == (
        "J",
        "+1",
        "x",
        True,
    )
    assert (failed.first_name, failed.last_name, failed.ok, failed.errors) == (
        "J",
        "D",
        False,
        ["#001"],
    )
    call = client()._call_call("+1")
    result = read_answer(call, answer(200, [{"info": "i", "result": "success", "errors": []}]))
    assert result == simgate.CallResult("success", "i", []) and result.ok
    alone = read_answer(call, answer(200, {"info": "i", "result": "failed", "errors": ["#002"]}))
    assert not alone.ok and alone.errors == ["#002"]


def test_retry_policy() -> None:
    policy = RetryPolicy(max_retries=2, backoff=0.5, max_backoff=8)
    connect = httpx.ConnectError("refused")
    read = httpx.ReadTimeout("slow")
    assert policy.retry_error(connect, 0, idempotent=True)
    assert policy.retry_error(read, 1, idempotent=True)
    assert not policy.retry_error(read, 2, idempotent=True)  # bounded
    assert policy.retry_error(connect, 0, idempotent=False)
    assert not policy.retry_error(read, 0, idempotent=False)  # may have rung already
    assert not policy.retry_error(httpx.UnsupportedProtocol("ftp"), 0, idempotent=True)
    assert policy.retry_status(503, 0, True) and not policy.retry_status(503, 0, False)
    assert not policy.retry_status(429, 0, True) and not policy.retry_status(400, 0, True)
    for retry in range(6):
        base = min(8, 0.5 * 2**retry)
        assert base / 2 <= policy.delay(retry) <= base
    assert policy.delay(0, "3") == 3 and policy.delay(0, "3600") == 8
    assert 0.25 <= policy.delay(0, "Wed, 21 Oct 2015 07:28:00 GMT") <= 0.5
