"""Webhook payloads, field for field and date format for date format as the
reference shows each kind, and their encoding on the wire.

Wire: GET <url> + ('&' if the url has a query, else '?') + <param>= +
encodeURIComponent(compact JSON text, non-ASCII kept as UTF-8).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from simgate.domain.dates import iso_z, local_text


def json_text(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def encode_uri_component(text: str) -> str:
    """JavaScript's encodeURIComponent: UTF-8 percent-encoded, except A-Z a-z 0-9 -_.!~*'()"""
    return quote(text, safe="-_.!~*'()")


def delivery_url(callback_url: str, kind: str, payload_text: str) -> str:
    if callback_url.endswith(("?", "&")):
        joiner = ""
    else:
        joiner = "&" if urlsplit(callback_url).query else "?"
    return f"{callback_url}{joiner}{kind}={encode_uri_component(payload_text)}"


def incoming_sms(
    account_email: str, sender: str, text: str, received_at: datetime
) -> dict[str, Any]:
    return {
        "device_identification": account_email,
        "title": "incoming_sms",
        "from": sender,
        "message": text,
        "date": iso_z(received_at),
    }


def call_event(
    account_email: str, kind: str, number: str, call_time: datetime, duration: str, tz: ZoneInfo
) -> dict[str, Any]:
    return {
        "device_identification": account_email,
        "title": kind,
        "phone_number": number,
        "call_time": local_text(call_time, tz),
        "duration": duration,
    }


def link_click(
    id_sms_api: str, number: str, link: str, clicked_at: datetime, tz: ZoneInfo
) -> dict[str, Any]:
    return {
        "id_sms_api": id_sms_api,
        "title": "clicked link",
        "phone_number": number,
        "link": link,
        "date": local_text(clicked_at, tz),
    }


def qualification(
    account_email: str, source: str, number: str, text: str, at: datetime, tz: ZoneInfo
) -> dict[str, Any]:
    return {
        "device_identification": account_email,
        "title": f"call_qualification_from_{source}",
        "from": number,
        "date": local_text(at, tz),
        "qualification": text,
    }


def delivery_status(
    account_email: str, number: str, status: str, at: datetime, id_sms_api: str
) -> dict[str, Any]:
    """`status` is "sent", "received", or the extension values "failed" and "expired"."""
    return {
        "user": account_email,
        "phone_number": number,
        "status": status,
        "date_status": iso_z(at),
        "id_sms_api": id_sms_api,
    }
