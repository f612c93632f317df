"""Standard Webhooks signatures: signed as the server signs, checked by
simgate.webhooks.verify; tampered, stale and unsigned requests refused."""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask, request
from standardwebhooks.webhooks import Webhook
from werkzeug.datastructures import Headers
from werkzeug.serving import make_server

import simgate
from simgate import _wire, webhooks
from simgate.domain import payloads
from tests.support import http_client
from tests.support.servers import LiveServer

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
AT = datetime(2026, 7, 14, 18, 30, 5)


def signed(
    kind: str, text: str | None = None, secret: str = SECRET, at: float | None = None
) -> tuple[str, dict[str, str]]:
    """(url, headers) of a delivery signed by the standardwebhooks package."""
    payload = payloads.delivery_status("u@e.com", "+33612345678", "sent", AT, "id-1")
    text = text or payloads.json_text(payload)
    stamp = datetime.fromtimestamp(at if at is not None else time.time(), tz=UTC)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": Webhook(secret).sign("msg_1", stamp, text),
    }
    return payloads.delivery_url("https://hooks.example/in", kind, text), headers


def test_round_trip_with_the_standard_library() -> None:
    url, headers = signed("status")
    event = webhooks.verify(url, headers, SECRET)
    assert isinstance(event, webhooks.DeliveryStatus) and event.id_sms_api == "id-1"
    # Any spelling of the headers; Werkzeug's Headers as Flask gives them.
    shouted = {k.upper(): v for k, v in headers.items()}
    assert webhooks.verify(urlsplit(url).query, shouted, SECRET) == event
    raw_key = base64.b64decode(SECRET.removeprefix("whsec_"))
    assert webhooks.verify(url, Headers(headers), raw_key) == event
    # Our own signer agrees byte for byte with the package.
    ours = webhooks.sign(
        payloads.json_text(dict(event.raw)), SECRET, "msg_1", headers["webhook-timestamp"]
    )
    assert ours == headers["webhook-signature"]


def test_text_with_every_awkward_character_round_trips() -> None:
    payload = payloads.incoming_sms("u@e.com", "+1", '50% & + é 🚀 "q" a=b', AT)
    text = payloads.json_text(payload)
    url, headers = signed("message", text)
    event = webhooks.verify(url, headers, SECRET)
    assert isinstance(event, webhooks.IncomingSms) and event.message == payload["message"]


def test_rotation_accepts_any_listed_signature() -> None:
    url, headers = signed("status")
    _, other = signed("status", secret="whsec_" + "QUJD" * 8)
    both = {
        **headers,
        "webhook-signature": f"{other['webhook-signature']} {headers['webhook-signature']}",
    }
    assert webhooks.verify(url, both, SECRET).kind == "status"


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda u, h: (u.replace("%22sent%22", "%22received%22"), h), "no valid signature"),
        (lambda u, h: (u, {**h, "webhook-id": "msg_2"}), "no valid signature"),
        (
            lambda u, h: (u, {**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) - 1)}),
            "no valid signature",
        ),
        (lambda u, h: (u, {**h, "webhook-signature": "v1,AAAA"}), "no valid signature"),
        (
            lambda u, h: (u, {**h, "webhook-signature": "v2," + h["webhook-signature"][3:]}),
            "no valid",
        ),
        (lambda u, h: (u, {k: v for k, v in h.items() if k != "webhook-signature"}), "missing"),
        (lambda u, h: (u, {}), "missing"),
        (lambda u, h: (u, {**h, "webhook-timestamp": "soon"}), "not a number"),
    ],
)
def test_tampered_is_rejected(tamper: Any, reason: str) -> None:
    url, headers = tamper(*signed("status"))
    with pytest.raises(webhooks.InvalidSignature) as caught:
        webhooks.verify(url, headers, SECRET)
    assert reason in caught.value.reason


def test_wrong_secret_and_stale_or_future_timestamps() -> None:
    url, headers = signed("status")
    with pytest.raises(webhooks.InvalidSignature):
        webhooks.verify(url, headers, "whsec_" + "QUJD" * 8)
    with pytest.raises(ValueError, match="whsec_"):
        webhooks.verify(url, headers, "whsec_not base64!")

    old_url, old = signed("status", at=time.time() - 600)
    with pytest.raises(webhooks.InvalidSignature, match="too old"):
        webhooks.verify(old_url, old, SECRET)
    assert webhooks.verify(old_url, old, SECRET, tolerance=timedelta(minutes=15)).kind == "status"
    future_url, future = signed("status", at=time.time() + 600)
    with pytest.raises(webhooks.InvalidSignature, match="future"):
        webhooks.verify(future_url, future, SECRET)


def test_signature_checked_before_the_payload_is_trusted() -> None:
    # A correctly signed but malformed payload is still refused as a webhook.
    url, headers = signed("status", '{"status":"sent"}')
    with pytest.raises(webhooks.InvalidWebhook, match="missing field"):
        webhooks.verify(url, headers, SECRET)


# --- a real signed delivery from the server -------------------------------------------


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    app = Flask(__name__)

    @app.get("/hook")
    def hook() -> str:
        seen.append({"query": request.query_string.decode(), "headers": dict(request.headers)})
        return "OK"

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", seen
    server.shutdown()


def test_signed_delivery_from_the_server(
    server: LiveServer, account: dict[str, Any], receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    admin = pytest.importorskip("simgate.services.webhook_admin")
    callback, seen = receiver
    admin.set_callbacks(server.engine, account["login"], {"clics": callback}, allow_private=True)
    secret = admin.signing_secret(server.engine, account["login"])

    with simgate.Client(account["login"], account["accessKey"], base_url=server.url) as client:
        sent = client.send_sms([simgate.Sms("+33612345678", "Go [link]", url="https://e.com/")])
    link = re.search(r"https?://\S+", sent[0].message)
    assert link is not None
    browser = {"user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"}
    clicked = http_client.get(server.url + urlsplit(link.group()).path, headers=browser)
    assert clicked.status_code in (301, 302, 303, 307)

    deadline = time.monotonic() + 15
    while not seen and time.monotonic() < deadline:
        time.sleep(0.02)
    assert seen, "no webhook delivered"
    query, headers = seen[0]["query"], seen[0]["headers"]
    event = webhooks.verify(query, headers, secret, tz="Europe/Paris")
    assert isinstance(event, webhooks.LinkClick)
    assert (event.id_sms_api, event.link) == (sent[0].id_sms_api, "https://e.com/")
    assert abs(event.date - datetime.now(UTC)) < timedelta(minutes=1)

    with pytest.raises(webhooks.InvalidSignature):
        webhooks.verify(query.replace("e.com", "evil.com"), headers, secret)


def test_the_servers_signer_verifies() -> None:
    admin = pytest.importorskip("simgate.services.webhook_admin")
    secret = admin.new_secret()
    payload = payloads.link_click("id-9", "+33612345678", "https://e.com/?q=a&b=+", AT, UTC)
    text = payloads.json_text(payload)
    stamp = int(time.time())
    headers = {
        "webhook-id": "evt_9",
        "webhook-timestamp": str(stamp),
        "webhook-signature": _wire.sign(text, secret, "evt_9", stamp),
    }
    url = payloads.delivery_url("https://hooks.example/in", "clics", text)
    event = webhooks.verify(url, headers, secret)
    assert isinstance(event, webhooks.LinkClick) and event.link == "https://e.com/?q=a&b=+"
    with pytest.raises(webhooks.InvalidSignature):
        webhooks.verify(url, headers, admin.new_secret())
