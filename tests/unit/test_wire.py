"""The wire facts the SDK and the server share (simgate._wire): the error
texts are the ones docs/errors.md explains, and the signature is the
Standard Webhooks one."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from simgate import _wire

ERRORS_MD = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def documented_meanings() -> dict[str, dict[str, str]]:
    """Section title → code → the "meaning" column of docs/errors.md, as printed
    (backticks dropped, and the "(simgate)" mark of simgate's own codes)."""
    sections: dict[str, dict[str, str]] = {}
    title = ""
    for line in ERRORS_MD.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            title = line[3:].split(" — ")[0].strip()
        found = re.match(r"\| `(#0\d\d)` \| ([^|]+) \|", line)
        if found:
            meaning = found[2].replace("`", "").removesuffix(" (simgate)").strip()
            sections.setdefault(title, {})[found[1]] = meaning.strip()
    return sections


@pytest.mark.parametrize(
    ("section", "texts"),
    [
        ("sendsms", _wire.SMS_ERRORS),
        ("contact", _wire.CONTACT_ERRORS),
        ("clicTocall", _wire.CALL_ERRORS),
    ],
)
def test_error_texts_are_the_documented_meanings(section: str, texts: dict[str, str]) -> None:
    assert documented_meanings()[section] == texts


def test_describe_names_the_code_and_its_text() -> None:
    assert _wire.describe("#001", _wire.SMS_ERRORS) == "#001 invalid phone number"
    assert _wire.describe("#999", _wire.SMS_ERRORS) == "#999"


def test_sign_is_the_standard_webhooks_signature() -> None:
    secret, stamp = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1_767_225_600
    expected = Webhook(secret).sign("msg_1", datetime.fromtimestamp(stamp, UTC), '{"a":"é"}')
    assert _wire.sign('{"a":"é"}', secret, "msg_1", stamp) == expected
    assert _wire.sign('{"a":"é"}', _wire.signing_key(secret), "msg_1", str(stamp)) == expected
    with pytest.raises(ValueError, match="whsec_"):
        _wire.signing_key("whsec_not base64!")


def test_the_value_sets_are_read_from_their_types() -> None:
    assert _wire.CALL_KINDS == ("incoming_call", "outgoing_call", "missed_call")
    assert _wire.DELIVERY_STATUSES == ("sent", "received", "failed", "expired")
    titles = tuple(f"call_qualification_from_{s}" for s in _wire.QUALIFICATION_SOURCES)
    assert _wire.QUALIFICATION_TITLES == titles
