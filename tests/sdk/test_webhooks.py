"""simgate.webhooks.parse on every kind exactly as the server encodes it, through
real Flask and FastAPI receivers on loopback, and on bad input."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import uvicorn
from fastapi import FastAPI, Request
from flask import Flask
from flask import request as flask_request
from starlette.datastructures import QueryParams
from werkzeug.datastructures import MultiDict
from werkzeug.serving import make_server

from simgate import webhooks
from simgate._wire import CALL_KINDS, WEBHOOK_KINDS
from simgate.domain import payloads
from tests.support import http_client
from tests.support.servers import free_port

PARIS = ZoneInfo("Europe/Paris")
TRICKY = '50% off & more + café ñ 🚀 a=b?c#d %41 "quoted" \\ new\nline'
EMAIL = "user@example.com"
AT = datetime(2026, 7, 14, 18, 30, 5, 123000)  # naive UTC, as the server keeps it


def every_kind() -> dict[str, dict[str, Any]]:
    return {
        "message": payloads.incoming_sms(EMAIL, "+33612345678", TRICKY, AT),
        "calls": payloads.call_event(EMAIL, "incoming_call", "+33612345678", AT, "00:01:05", PARIS),
        "clics": payloads.link_click("id-1", "+33612345678", "https://e.com/?a=1&b=%2B", AT, PARIS),
        "qualification": payloads.qualification(EMAIL, "mobile", "+33612345678", TRICKY, AT, PARIS),
        "status": payloads.delivery_status(EMAIL, "+33612345678", "received", AT, "id-1"),
    }


def url_for(kind: str, callback: str = "https://hooks.example/in?token=t%2B1") -> str:
    return payloads.delivery_url(callback, kind, payloads.json_text(every_kind()[kind]))


def check(event: webhooks.Event, kind: str) -> None:
    """The event matches what the server put in, field for field."""
    payload = every_kind()[kind]
    assert event.kind == kind and dict(event.raw) == payload
    utc = AT.replace(microsecond=123000, tzinfo=UTC)
    local = AT.replace(microsecond=0, tzinfo=UTC)  # local fields carry whole seconds
    if isinstance(event, webhooks.IncomingSms):
        assert (event.from_, event.message, event.date) == ("+33612345678", TRICKY, utc)
        assert event.device_identification == EMAIL
    elif isinstance(event, webhooks.CallEvent):
        assert (event.title, event.call_time, event.duration_seconds) == (
            "incoming_call",
            local,
            65,
        )
    elif isinstance(event, webhooks.LinkClick):
        assert (event.link, event.date, event.id_sms_api) == (payload["link"], local, "id-1")
    elif isinstance(event, webhooks.CallQualification):
        assert (event.qualification, event.source, event.date) == (TRICKY, "mobile", local)
    else:
        assert isinstance(event, webhooks.DeliveryStatus)
        assert (event.status, event.date_status, event.user) == ("received", utc, EMAIL)


@pytest.mark.parametrize("kind", WEBHOOK_KINDS)
def test_parse_url_query_string_and_mappings(kind: str) -> None:
    url = url_for(kind)
    query = urlsplit(url).query
    for source in [
        url,
        query,
        "?" + query,
        query.encode(),
        {k: v[0] for k, v in parse_qs(query).items()},
        parse_qs(query),  # lists of values
        MultiDict(parse_qs(query)),  # Flask/Werkzeug
        QueryParams(query),  # Starlette/FastAPI
        payloads.json_text(every_kind()[kind]),  # the JSON text alone
    ]:
        check(webhooks.parse(source, tz=PARIS), kind)


def test_local_dates_follow_tz_and_default_to_utc() -> None:
    click = webhooks.parse(url_for("clics"))
    assert click.date == datetime(2026, 7, 14, 20, 30, 5, tzinfo=UTC)  # Paris text, read as UTC
    click = webhooks.parse(url_for("clics"), tz="Europe/Paris")
    assert click.date == datetime(2026, 7, 14, 18, 30, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="time zone"):
        webhooks.parse(url_for("clics"), tz="Mars/Olympus")


def test_every_call_title_qualification_source_and_status() -> None:
    for title in CALL_KINDS:
        event = webhooks.parse(
            {"calls": payloads.json_text(payloads.call_event(EMAIL, title, "+1", AT, "0", PARIS))}
        )
        assert isinstance(event, webhooks.CallEvent) and event.title == title
        assert event.duration_seconds == 0
    event = webhooks.parse(
        {
            "qualification": json.dumps(
                payloads.qualification(EMAIL, "interface", "+1", "x", AT, PARIS)
            )
        }
    )
    assert isinstance(event, webhooks.CallQualification) and event.source == "interface"
    for status in ("sent", "received", "failed"):
        text = json.dumps(payloads.delivery_status(EMAIL, "+1", status, AT, "i"))
        event = webhooks.parse({"status": text})
        assert isinstance(event, webhooks.DeliveryStatus) and event.status == status


def test_reference_examples_parse() -> None:
    # The payloads exactly as the reference document prints them.
    ev = webhooks.parse(
        {
            "calls": '{"device_identification":"user@email.com","title":"incoming_call",'
            '"phone_number":"+33612345678","call_time":"2023-12-17 20:32:51","duration":"15:11:04"}'
        }
    )
    assert isinstance(ev, webhooks.CallEvent) and ev.duration_seconds == 15 * 3600 + 11 * 60 + 4
    ev = webhooks.parse(
        {
            "status": '{"user":"SENDER_LOGIN","phone_number":"+33612345678","status":"received",'
            '"date_status":"2019-08-09T12:50:54.211Z","id_sms_api":"YOUR_ID_SMS"}'
        }
    )
    assert isinstance(ev, webhooks.DeliveryStatus)
    assert ev.date_status == datetime(2019, 8, 9, 12, 50, 54, 211000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ({}, "no query parameter"),
        ("https://hooks.example/in", "no query parameter"),
        ("message=", "empty"),
        ("message=not%20json", "not JSON"),
        ("message=%7Bbroken", "not JSON"),
        ("message=%5B1%2C2%5D", "not a JSON object"),
        ("message=%FF%FE", "not UTF-8"),
        (b"\xff\xfe", "not UTF-8"),
        ("foo=%7B%7D&bar=1", "unknown parameter bar, foo"),
        ({"message": "{}", "status": "{}"}, "several webhook parameters"),
        ({"message": 42}, "not text"),
        ({"message": "{}"}, "missing field title, device_identification, from, message, date"),
        ('{"title":"nope"}', "cannot tell"),
        (12, "cannot read"),
    ],
)
def test_bad_input(source: Any, reason: str) -> None:
    with pytest.raises(webhooks.InvalidWebhook) as caught:
        webhooks.parse(source)
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("kind", "change", "reason"),
    [
        ("message", {"title": "incoming_call"}, "wrong title"),
        ("calls", {"title": "clicked link"}, "wrong title"),
        ("clics", {"title": "incoming_sms"}, "wrong title"),
        ("qualification", {"title": "call_qualification_from_mars"}, "wrong title"),
        ("status", {"status": "lost"}, "status must be one of"),
        ("status", {"date_status": "yesterday"}, "date_status is not a date"),
        ("clics", {"link": None, "phone_number": ""}, "missing field phone_number, link"),
        ("calls", {"phone_number": ["+33"]}, "phone_number is not text"),
    ],
)
def test_wrong_fields(kind: str, change: dict[str, Any], reason: str) -> None:
    payload = {**every_kind()[kind], **change}
    with pytest.raises(webhooks.InvalidWebhook) as caught:
        webhooks.parse({kind: json.dumps(payload)})
    assert reason in caught.value.reason and kind in caught.value.reason
    assert TRICKY not in str(caught.value)  # reasons never echo the payload


# --- real receivers on loopback -------------------------------------------------------


@pytest.fixture(scope="module")
def flask_receiver() -> Iterator[tuple[str, list[Any]]]:
    seen: list[Any] = []
    app = Flask(__name__)

    @app.get("/hook")
    def hook() -> tuple[str, int]:
        try:
            seen.append(webhooks.parse(flask_request.args, tz=PARIS))
        except webhooks.InvalidWebhook as exc:
            return exc.reason, 400
        return "OK", 200

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", seen
    server.shutdown()


@pytest.fixture(scope="module")
def fastapi_receiver() -> Iterator[tuple[str, list[Any]]]:
    seen: list[Any] = []
    app = FastAPI()

    @app.get("/hook")
    async def hook(request: Request) -> dict[str, str]:
        seen.append(webhooks.parse(request.query_params, tz=PARIS))
        return {"ok": "yes"}

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.02)
    yield f"http://127.0.0.1:{port}/hook", seen
    server.should_exit = True
    thread.join(5)


@pytest.mark.parametrize("framework", ["flask", "fastapi"])
def test_real_receivers(framework: str, request: pytest.FixtureRequest) -> None:
    base, seen = request.getfixturevalue(f"{framework}_receiver")
    seen.clear()
    for callback in (base, base + "?token=abc"):
        for kind in WEBHOOK_KINDS:
            # The exact URL the server requests (same builder as the sender).
            response = http_client.get(url_for(kind, callback), timeout=5)
            assert response.status_code == 200, response.text
    assert len(seen) == 10
    for event, kind in zip(seen, list(WEBHOOK_KINDS) * 2, strict=True):
        assert dict(event.raw) == every_kind()[kind]
    clicks = [e for e in seen if isinstance(e, webhooks.LinkClick)]
    assert clicks[0].date == datetime(2026, 7, 14, 18, 30, 5, tzinfo=UTC)
