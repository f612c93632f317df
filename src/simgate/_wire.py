"""Facts of the inSIM wire that the SDK and the server must state alike.

One source for each: the webhook kinds and the values their payloads carry,
the Standard Webhooks signature, and the texts of the per-item error codes.

Why a module of its own: the SDK (`simgate.webhooks`, `simgate.client`) must
install with the standard library and httpx only, and `import simgate` must
never load the server's dependencies; the server, for its part, should not
lean on the SDK's parsing code to know its own wire. So both import these
facts from here, and this module imports nothing but the standard library
(tests/sdk/test_public_api.py checks it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Literal, get_args

# --- webhooks ------------------------------------------------------------------------

# Webhook kind → query parameter (they happen to be the same words); each kind
# has its own callback URL per account.
WEBHOOK_KINDS = ("message", "calls", "clics", "qualification", "status")
# Each set of values below is written once, as a type; the tuple is read from it.
# The `title` of a `calls` webhook, and the `event` of a device's call frame.
CallKind = Literal["incoming_call", "outgoing_call", "missed_call"]
CALL_KINDS: tuple[CallKind, ...] = get_args(CallKind)
# Who qualified a call: the phone or the dashboard. The `title` of a
# `qualification` webhook is "call_qualification_from_<source>".
QualificationSource = Literal["mobile", "interface"]
QUALIFICATION_SOURCES: tuple[QualificationSource, ...] = get_args(QualificationSource)
QualificationTitle = Literal["call_qualification_from_mobile", "call_qualification_from_interface"]
QUALIFICATION_TITLES: tuple[QualificationTitle, ...] = get_args(QualificationTitle)
# The `status` of a `status` webhook; "failed" and "expired" are simgate's extensions.
DeliveryStatusValue = Literal["sent", "received", "failed", "expired"]
DELIVERY_STATUSES: tuple[DeliveryStatusValue, ...] = get_args(DeliveryStatusValue)

# --- Standard Webhooks signatures (https://www.standardwebhooks.com) -----------------

SECRET_PREFIX = "whsec_"


def signing_key(secret: str | bytes) -> bytes:
    """The HMAC key of a secret: "whsec_<base64>", or the raw key bytes."""
    if isinstance(secret, bytes):
        return secret
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f'the secret must be "{SECRET_PREFIX}" followed by base64') from None


def sign(text: str, secret: str | bytes, msg_id: str, timestamp: int | str) -> str:
    """The `webhook-signature` value (`v1,<base64 HMAC-SHA256>`) of `text`, the JSON
    text a delivery carries, sent with headers `webhook-id: msg_id` and
    `webhook-timestamp: timestamp`."""
    content = f"{msg_id}.{timestamp}.{text}".encode()
    digest = hmac.new(signing_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


# --- per-item error codes (docs/errors.md explains each; a test keeps them alike) -----

SMS_ERRORS = {
    "#001": "invalid phone number",
    "#002": "empty phone number",
    "#003": "empty message",
    "#004": "invalid date_to_send",
    "#005": "invalid priority",
    "#006": "invalid url",
    "#007": "id_sms_api already used for other content",
    "#008": "invalid id_sms_api",
    "#009": "item is not a JSON object",
    "#010": "message longer than 255 SMS parts",
    "#011": "message contains a NUL character",
    "#012": "recipient opted out (STOP): not sent",
    "#013": "invalid validity or valid_until",
    "#014": "invalid sim",
    "#015": "invalid marketing",
}
CONTACT_ERRORS = {
    "#001": "invalid phone number",
    "#002": "empty phone number",
    "#003": "no phone number",
    "#004": "invalid e-mail (a warning: the contact is stored)",
    "#005": "a field over 500 characters or with a NUL character",
}
CALL_ERRORS = {
    "#001": "our servers are down",
    "#002": "phone not connected",
    "#003": "invalid phone number",
}


def describe(code: str, texts: dict[str, str]) -> str:
    """`#001 invalid phone number`; a code not in `texts` as it is."""
    return f"{code} {texts[code]}" if code in texts else code
