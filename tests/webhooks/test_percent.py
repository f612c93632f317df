"""'%' in a payload: intact when decoded once; the reference's second decode breaks.

The reference's Express handler runs decodeURIComponent on a parameter Express
has already decoded, and its Flask handler runs unquote on one Flask has
already decoded. Harmless for text without '%', but `50% off` makes
decodeURIComponent throw URIError (Express answers 500), and unquote turns
`%41` into `A` or `%22` into a quote that breaks the JSON. The one-line fix,
parsing the parameter as the framework gives it, is the `/once` route
(and docs/webhooks.md).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import pytest

from simgate.domain import payloads
from simgate.domain.payloads import json_text
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.webhooks.conftest import emit, make_account

WHEN = datetime(2026, 3, 1, 12, 30, 15, 123456)
TEXT = "50% off & 100%25 = %41 + %22 # café 🎉"


def _send(server: LiveServer, receiver: Any, route: str, text: str) -> dict[str, Any]:
    """Queue an incoming SMS to `route`; the receiver's first entry for it."""
    email = f"pct+{secrets.token_hex(4)}@example.com"
    account = make_account(server.engine, email, message=receiver.url + route)
    payload = payloads.incoming_sms(email, "+33612345678", text, WHEN)
    emit(server.engine, account, "message", payload)
    entry = wait_for(lambda: [e for e in receiver.entries() if email in (e["once"] or "")])[0]
    # Decoded once, the parameter is the exact JSON text, '%' and all.
    assert entry["once"] == json_text(payload)
    return entry


@pytest.mark.parametrize("receiver_name", ["flask", "express"])
def test_decoded_once_every_character_arrives(
    fast_server: LiveServer, request: pytest.FixtureRequest, receiver_name: str
) -> None:
    receiver = request.getfixturevalue(f"{receiver_name}_receiver")
    entry = _send(fast_server, receiver, "/once", TEXT)
    assert entry["error"] is None and entry["parsed"]["message"] == TEXT


def test_express_reference_handler_throws_urierror_on_50_percent_off(
    fast_server: LiveServer, express_receiver: Any
) -> None:
    entry = _send(fast_server, express_receiver, "/webhook", "50% off today")
    assert entry["error"] == "URIError" and entry["parsed"] is None


def test_flask_reference_handler_corrupts_or_throws_on_percent_sequences(
    fast_server: LiveServer, flask_receiver: Any
) -> None:
    # unquote leaves a '%' that starts no escape alone: `50% off` happens to survive ...
    assert _send(fast_server, flask_receiver, "/webhook", "50% off")["parsed"]["message"] == (
        "50% off"
    )
    # ... but a '%' followed by two hex digits is decoded again: the text changes,
    corrupted = _send(fast_server, flask_receiver, "/webhook", "code %41 and 100%25")
    assert corrupted["parsed"]["message"] == "code A and 100%"
    # or a quote appears inside a JSON string and the handler throws (Flask answers 500).
    broken = _send(fast_server, flask_receiver, "/webhook", "say %22hi%22")
    assert broken["error"] == "JSONDecodeError" and broken["parsed"] is None
