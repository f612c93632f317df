"""Standard Webhooks signatures, checked with the `standardwebhooks` package as is."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from simgate.domain import payloads
from simgate.services.webhook_admin import signing_secret
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.webhooks.conftest import Recorder, emit, make_account

WHEN = datetime(2026, 3, 1, 12, 30, 15, 123456)


def _param(recorder: Recorder, index: int, kind: str = "message") -> str:
    """The parameter as a receiver's framework gives it: decoded once."""
    return httpx.URL(recorder.url + recorder.requests[index]["target"]).params[kind]


def test_signed_requests_verify_and_tampering_fails(
    fast_server: LiveServer, recorder: Recorder
) -> None:
    account = make_account(fast_server.engine, message=recorder.url + "/hook")
    secret = signing_secret(fast_server.engine, "user@example.com")
    assert secret.startswith("whsec_")
    assert signing_secret(fast_server.engine, "user@example.com") == secret  # stable
    payload = payloads.incoming_sms("user@example.com", "+33612345678", "50% & é 🎉", WHEN)
    event_id = emit(fast_server.engine, account, "message", payload)
    wait_for(recorder.acked)
    headers = recorder.requests[0]["headers"]
    text = _param(recorder, 0)
    assert headers["webhook-id"] == event_id
    assert Webhook(secret).verify(text, headers) == payload
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(text.replace("50%", "90%"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(text, {**headers, "webhook-id": "msg_other"})
    with pytest.raises(WebhookVerificationError):
        Webhook(signing_secret(fast_server.engine, "user@example.com", rotate=True)).verify(
            text, headers
        )


def test_retries_keep_the_id_and_are_signed_afresh(
    fast_server: LiveServer, recorder: Recorder
) -> None:
    recorder.answers = [503]
    account = make_account(fast_server.engine, status=recorder.url + "/s")
    secret = signing_secret(fast_server.engine, "user@example.com")
    payload = payloads.delivery_status("user@example.com", "+33612345678", "sent", WHEN, "abc")
    emit(fast_server.engine, account, "status", payload)
    wait_for(recorder.acked)
    first, second = (r["headers"] for r in recorder.requests)
    assert first["webhook-id"] == second["webhook-id"]  # receivers dedupe on it
    for index, headers in enumerate((first, second)):
        assert Webhook(secret).verify(_param(recorder, index, "status"), headers) == payload


def test_unsigned_without_a_secret_but_always_with_the_id(
    fast_server: LiveServer, recorder: Recorder
) -> None:
    account = make_account(fast_server.engine, message=recorder.url + "/")
    payload = payloads.incoming_sms("u@e.x", "+1", "x", WHEN)
    event_id = emit(fast_server.engine, account, "message", payload)
    wait_for(recorder.acked)
    headers = {k.lower(): v for k, v in recorder.requests[0]["headers"].items()}
    assert headers["webhook-id"] == event_id
    assert "webhook-signature" not in headers and "webhook-timestamp" not in headers


def test_the_sdk_verifies_and_parses_what_the_sender_signs(
    fast_server: LiveServer, recorder: Recorder
) -> None:
    from simgate import webhooks as sdk

    account = make_account(fast_server.engine, status=recorder.url + "/s?x=1")
    secret = signing_secret(fast_server.engine, "user@example.com")
    payload = payloads.delivery_status("user@example.com", "+33612345678", "received", WHEN, "z")
    emit(fast_server.engine, account, "status", payload)
    wait_for(recorder.acked)
    request = recorder.requests[0]
    raw_query = request["target"].split("?", 1)[1]
    event = sdk.verify(raw_query, request["headers"], secret)
    assert event.status == "received" and event.id_sms_api == "z"
