"""One test per kind, received by the reference's own Flask and Express handlers.

Each event is created the way the server creates it: device events through the
outbox in a transaction (as services/device_reports.py does), qualifications
through services.qualifications, clicks through a real GET of a short link.
The text carries & = + # accents and emoji (no '%': see test_percent.py for
why the reference's second decode cannot take every '%').
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from simgate._wire import WEBHOOK_KINDS
from simgate.domain import payloads
from simgate.domain.dates import utcnow
from simgate.domain.payloads import encode_uri_component, json_text
from simgate.services.accounts import get_account
from simgate.services.qualifications import record_qualification
from tests.support import http_client
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.webhooks.conftest import emit, make_account

TEXT = 'Rendez-vous & café = 2+2 #1 à São Paulo, naïve crème brûlée 🎉👍🏽 "ok" ?/'
WHEN = datetime(2026, 3, 1, 12, 30, 15, 123456)
PARIS = ZoneInfo("Europe/Paris")
LINK = "https://shop.example.com/promo?a=1&b=2+3&d=été&e=🎉#top"
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile"


def _entries(receiver: Any, marker: str) -> list[dict[str, Any]]:
    return [e for e in receiver.entries() if marker in (e["once"] or "")]


def _event(
    server: LiveServer, kind: str, account_id: int, email: str
) -> tuple[dict[str, Any], str]:
    """Make one event of `kind` happen; (the payload expected, a marker unique to it)."""
    engine = server.engine
    if kind == "message":
        payload = payloads.incoming_sms(email, "+33612345678", TEXT, WHEN)
        emit(engine, account_id, kind, payload)
        return payload, email
    if kind == "calls":
        payload = payloads.call_event(
            email, "incoming_call", "+33612345679", WHEN, "00:01:04", PARIS
        )
        emit(engine, account_id, kind, payload)
        return payload, email
    if kind == "status":
        payload = payloads.delivery_status(email, "+33612345670", "received", WHEN, "Pf7v16XZ38")
        emit(engine, account_id, kind, payload)
        return payload, email
    if kind == "qualification":
        with engine.begin() as conn:
            account = get_account(conn, email)
            record_qualification(conn, account, "+33612345671", TEXT, "mobile", utcnow(), at=WHEN)
        payload = payloads.qualification(email, "mobile", "+33612345671", TEXT, WHEN, PARIS)
        return payload, email
    assert kind == "clics"
    payload = _click(server, email)
    return payload, str(payload["id_sms_api"])


def _click(server: LiveServer, email: str) -> dict[str, Any]:
    from tests.webhooks.test_clicks import send_with_link

    _, code, id_sms_api = send_with_link(server, email, LINK)
    answer = http_client.get(f"{server.url}/{code}", headers={"user-agent": BROWSER})
    assert answer.status_code == 302
    return {
        "id_sms_api": id_sms_api,
        "title": "clicked link",
        "phone_number": "+33612345678",
        "link": LINK,
    }


@pytest.mark.parametrize("kind", WEBHOOK_KINDS)
def test_kind_reaches_the_reference_handlers(
    fast_server: LiveServer, flask_receiver: Any, express_receiver: Any, kind: str
) -> None:
    """The event reaches the reference's Flask handler and its Express handler."""
    for receiver in (flask_receiver, express_receiver):
        email = f"user+{secrets.token_hex(4)}@example.com"  # tells this event's entries apart
        account_id = make_account(fast_server.engine, email, **{kind: receiver.url + "/webhook"})
        expected, marker = _event(fast_server, kind, account_id, email)
        entry = wait_for(lambda: _entries(receiver, marker))[0]  # noqa: B023
        assert entry["route"] == "/webhook" and entry["kind"] == kind and entry["error"] is None
        parsed = entry["parsed"]
        if kind == "clics":  # the click time is the server's: check its format, then the rest
            assert datetime.strptime(parsed.pop("date"), "%Y-%m-%d %H:%M:%S")
        assert parsed == expected  # the reference's handler, unchanged, reads every field
        assert list(parsed) == list(_key_order(kind))
        # The parameter decoded once is the exact JSON text that was queued ...
        sent_text = entry["once"]
        if kind != "clics":
            assert sent_text == json_text(expected)
        # ... and the raw query is param= + encodeURIComponent(that text), byte for byte.
        assert entry["raw_query"] == f"{kind}=" + encode_uri_component(sent_text)


def _key_order(kind: str) -> tuple[str, ...]:
    """The field order of the reference's examples."""
    return {
        "message": ("device_identification", "title", "from", "message", "date"),
        "calls": ("device_identification", "title", "phone_number", "call_time", "duration"),
        "clics": ("id_sms_api", "title", "phone_number", "link"),
        "qualification": ("device_identification", "title", "from", "date", "qualification"),
        "status": ("user", "phone_number", "status", "date_status", "id_sms_api"),
    }[kind]
