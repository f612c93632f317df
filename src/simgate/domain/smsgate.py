"""The SMS Gateway for Android app's mobile protocol, on the wire (private-server mode).

`reference/smsgate-mobile-api.md` is the source; the section each rule comes
from is named beside it. What the app sends is parsed here, once, into frozen
types whose every field was checked (type, size, range, no NUL): whatever a
phone or a stranger sends, the rest of the server never sees a value the store
could refuse, and the parsers raise nothing but `WireError`. No I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from simgate.domain.dates import iso_z, parse_reported_time

# Bodies the app sends are small (one state snapshot, one SMS): a quarter of a
# megabyte leaves room for a 255-part SMS in a webhook and refuses the rest.
MAX_BODY = 256 * 1024
MAX_NAME = 128  # §4.2: the Go server's limit on the device name
MAX_PUSH_TOKEN = 256  # §4.2
MAX_SIM_CARDS = 8
MAX_SIM_TEXT = 64
MAX_REPORTS = 100  # items of one PATCH /message; the app sends one (§7)
MAX_RECIPIENTS = 100  # §6: phoneNumbers 1..100
MAX_ID = 64
MAX_ERROR = 500  # a reason is for people: what fits is kept
MAX_NUMBER = 32  # a sender: an E.164 number or an alphanumeric name
MAX_TEXT = 40_000  # a 255-part SMS, with room to spare
MAX_PENDING = 100  # §6: the Go server's page of pending messages
# §6: the app's priority is -128..127, and 100 or more bypasses its own
# delays and limits; a client's priority must not switch those off.
PRIORITY_RANGE = (-128, 99)
# smsgate-local-api.md §6.3: reject signatures older or newer than 5 minutes.
SIGNATURE_WINDOW_SECONDS = 300

# §7.1. A report's "most advanced" state: what a late or repeated snapshot
# cannot undo. Delivered, Failed and Cancelled are final.
STATE_RANK = {
    "Pending": 0,
    "Cancelling": 0,
    "Processed": 1,
    "Sent": 2,
    "Delivered": 3,
    "Failed": 3,
    "Cancelled": 3,
}
# §5.1 and §9: the events of app 1.68 that simgate uses.
WORK_EVENT = "MessageEnqueued"
SMS_RECEIVED = "sms:received"
PING = "system:ping"

_ID_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")
_DIGITS_RE = re.compile(r"[0-9]{1,12}")
_HEX64_RE = re.compile(r"[0-9a-f]{64}")


class WireError(ValueError):
    """What the app (or whoever posts) sent cannot be used; the text says why."""


@dataclass(frozen=True, slots=True)
class SimCard:
    """§4.2 `simCards[]`; the app redacts the strings to their last 4 characters."""

    slot_index: int
    sim_number: int
    phone_number: str | None = None
    carrier_name: str | None = None
    iccid: str | None = None

    def as_json(self) -> dict[str, Any]:
        found = {
            "slotIndex": self.slot_index,
            "simNumber": self.sim_number,
            "phoneNumber": self.phone_number,
            "carrierName": self.carrier_name,
            "iccid": self.iccid,
        }
        return {k: v for k, v in found.items() if v is not None}


@dataclass(frozen=True, slots=True)
class Registration:
    """§4.2 `POST /device`."""

    name: str
    push_token: str | None
    sim_cards: tuple[SimCard, ...]


@dataclass(frozen=True, slots=True)
class DeviceUpdate:
    """§4.3 `PATCH /device`; `sim_cards` None when the app sent none."""

    id: str
    push_token: str | None
    sim_cards: tuple[SimCard, ...] | None


@dataclass(frozen=True, slots=True)
class StateReport:
    """§7: one message's snapshot. `state` is the most advanced state of its
    recipients (the aggregate when it names none), `error` that recipient's."""

    id: str
    state: str
    error: str
    history: dict[str, datetime]  # state → when the app first reached it (naive UTC)


@dataclass(frozen=True, slots=True)
class IncomingSms:
    sender: str
    text: str
    received_at: datetime | None


@dataclass(frozen=True, slots=True)
class Webhook:
    """smsgate-local-api.md §6.2: one webhook the app posted; `sms` only for
    `sms:received`."""

    id: str
    event: str
    device_id: str
    sms: IncomingSms | None


# --- reading ---------------------------------------------------------------------------


def parse_json(raw: bytes) -> Any:
    if len(raw) > MAX_BODY:
        raise WireError(f"the body is over {MAX_BODY} bytes")
    try:
        # orjson refuses lone surrogates and nesting past 1024 levels.
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise WireError("the body is not valid JSON (UTF-8)") from None


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WireError(f"{what} must be a JSON object")
    return value


def _text(data: dict[str, Any], name: str, limit: int, required: bool = False) -> str | None:
    """A string field, None when absent or null (Gson omits nulls, §3)."""
    value = data.get(name)
    if value is None or (value == "" and not required):
        if required:
            raise WireError(f'"{name}" is required')
        return None
    if not isinstance(value, str):
        raise WireError(f'"{name}" must be a string')
    if not value:
        raise WireError(f'"{name}" must not be empty')
    if len(value) > limit:
        raise WireError(f'"{name}" is longer than {limit} characters')
    if "\x00" in value:
        raise WireError(f'"{name}" contains a NUL character')
    return value


def _int(data: dict[str, Any], name: str, low: int, high: int) -> int:
    value = data.get(name)
    # bool is an int in Python; `true` is not a slot.
    if type(value) is not int or not low <= value <= high:
        raise WireError(f'"{name}" must be an integer from {low} to {high}')
    return value


def _sim_cards(value: Any) -> tuple[SimCard, ...]:
    if not isinstance(value, list) or len(value) > MAX_SIM_CARDS:
        raise WireError(f'"simCards" must be a list of at most {MAX_SIM_CARDS} SIM cards')
    cards = []
    for item in value:
        card = _object(item, "a SIM card")
        cards.append(
            SimCard(
                _int(card, "slotIndex", 0, MAX_SIM_CARDS - 1),
                _int(card, "simNumber", 1, MAX_SIM_CARDS),
                _text(card, "phoneNumber", MAX_SIM_TEXT),
                _text(card, "carrierName", MAX_SIM_TEXT),
                _text(card, "iccid", MAX_SIM_TEXT),
            )
        )
    return tuple(cards)


def parse_registration(data: Any) -> Registration:
    body = _object(data, "the registration")
    name = _text(body, "name", MAX_NAME) or ""
    cards = _sim_cards(body["simCards"]) if body.get("simCards") is not None else ()
    return Registration(name, _text(body, "pushToken", MAX_PUSH_TOKEN), cards)


def parse_device_update(data: Any) -> DeviceUpdate:
    body = _object(data, "the device update")
    device_id = _text(body, "id", MAX_ID, required=True)
    assert device_id is not None
    cards = _sim_cards(body["simCards"]) if body.get("simCards") is not None else None
    return DeviceUpdate(device_id, _text(body, "pushToken", MAX_PUSH_TOKEN), cards)


def parse_app_date(raw: Any) -> datetime | None:
    """A date the app sent (§3: `yyyy-MM-dd'T'HH:mm:ss.SSSXXX`; any ISO 8601
    is taken) as naive UTC, None when missing or unusable."""
    return parse_reported_time(raw)


def _report(data: Any) -> StateReport:
    item = _object(data, "a state report")
    report_id = _text(item, "id", MAX_ID, required=True)
    assert report_id is not None
    recipients = item.get("recipients")
    if recipients is None:
        recipients = []
    if not isinstance(recipients, list) or len(recipients) > MAX_RECIPIENTS:
        raise WireError(f'"recipients" must be a list of at most {MAX_RECIPIENTS}')
    candidates: list[tuple[str, str]] = []
    for raw in recipients:
        recipient = _object(raw, "a recipient")
        candidates.append((_state(recipient), _error(recipient)))
    if not candidates:
        candidates.append((_state(item), ""))
    # One recipient per simgate message; with more, the most advanced state counts.
    state, error = max(candidates, key=lambda c: STATE_RANK[c[0]])
    history = item.get("states")
    if history is None:
        history = {}
    if not isinstance(history, dict) or len(history) > len(STATE_RANK) * 2:
        raise WireError('"states" must be an object of state → date')
    times = {}
    for name, raw_date in history.items():
        moment = parse_app_date(raw_date)
        if name in STATE_RANK and moment is not None:
            times[name] = moment
    return StateReport(report_id, state, error, times)


def _state(data: dict[str, Any]) -> str:
    state = data.get("state")
    if not isinstance(state, str) or state not in STATE_RANK:
        raise WireError('"state" must be one of ' + ", ".join(STATE_RANK))
    return state


def _error(data: dict[str, Any]) -> str:
    error = data.get("error")
    if error is None:
        return ""
    if not isinstance(error, str):
        raise WireError('"error" must be a string')
    return error.replace("\x00", "")[:MAX_ERROR]


def parse_state_reports(data: Any) -> list[StateReport]:
    """§7 `PATCH /message`: a list of snapshots, each checked on its own: one
    that cannot be read is skipped (the Go server logs and skips it too), and
    the others count."""
    if not isinstance(data, list) or len(data) > MAX_REPORTS:
        raise WireError(f"the body must be a list of at most {MAX_REPORTS} state reports")
    reports = []
    for item in data:
        try:
            reports.append(_report(item))
        except WireError:
            continue
    return reports


def _sender(payload: dict[str, Any]) -> str:
    # `phoneNumber` is the deprecated twin of `sender` (local-api §6.2).
    sender = _text(payload, "sender", MAX_NUMBER) or _text(payload, "phoneNumber", MAX_NUMBER)
    if sender is None:
        raise WireError('"sender" is required')
    if not sender.isprintable():
        raise WireError('"sender" contains control characters')
    return sender


def parse_webhook(data: Any) -> Webhook:
    """A webhook the app posted (local-api §6.2); `sms` is read for `sms:received`."""
    envelope = _object(data, "the webhook")
    delivery_id = _text(envelope, "id", MAX_ID, required=True)
    event = _text(envelope, "event", MAX_ID, required=True)
    assert delivery_id is not None and event is not None
    if not _ID_RE.fullmatch(delivery_id):
        raise WireError('"id" must be 1-64 characters of [A-Za-z0-9_.:-]')
    device_id = _text(envelope, "deviceId", MAX_ID) or ""
    sms = None
    if event == SMS_RECEIVED:
        payload = _object(envelope.get("payload"), '"payload"')
        text = _text(payload, "message", MAX_TEXT, required=True)
        assert text is not None
        sms = IncomingSms(_sender(payload), text, parse_app_date(payload.get("receivedAt")))
    return Webhook(delivery_id, event, device_id, sms)


# --- signatures (smsgate-local-api.md §6.3) -----------------------------------------------


def sign(key: str, body: bytes, timestamp: str) -> str:
    """Lower-case hex HMAC-SHA256 of the raw body followed by the X-Timestamp text."""
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def signature_ok(
    key: str, body: bytes, timestamp: str | None, signature: str | None, now: float
) -> bool:
    """Is this webhook signed with `key` within SIGNATURE_WINDOW_SECONDS of `now`
    (Unix seconds)? Checked over the exact bytes received, before any parsing."""
    if not key or timestamp is None or signature is None:
        return False
    if not _DIGITS_RE.fullmatch(timestamp) or not _HEX64_RE.fullmatch(signature):
        return False
    if abs(now - int(timestamp)) > SIGNATURE_WINDOW_SECONDS:
        return False
    return hmac.compare_digest(sign(key, body, timestamp), signature)


# --- writing ---------------------------------------------------------------------------


def app_date(moment: datetime) -> str:
    """§3: exactly three fractional digits (`.123456Z` would be read as 123456 ms)."""
    return iso_z(moment)


def pending_message(
    message_id: str,
    phone_number: str,
    text: str,
    priority: int,
    created_at: datetime,
    valid_until: datetime,
    sim_number: int | None,
) -> dict[str, Any]:
    """One item of `GET /message` (§6): `message` beside `textMessage` for apps
    older than 1.39.1 (§12), delivery reports asked for, a deadline the app
    keeps (`validUntil`: it fails the message itself past it)."""
    low, high = PRIORITY_RANGE
    item: dict[str, Any] = {
        "id": message_id,
        "message": text,
        "textMessage": {"text": text},
        "phoneNumbers": [phone_number],
        "withDeliveryReport": True,
        "validUntil": app_date(valid_until),
        "priority": min(max(priority, low), high),
        "state": "Pending",
        "createdAt": app_date(created_at),
    }
    if sim_number is not None:
        item["simNumber"] = sim_number
    return item


def event_frame(event: str, data: dict[str, Any] | None = None) -> str:
    """One server-sent event (§5.2): `event:` the name, `data:` a JSON object."""
    payload = orjson.dumps(data or {}).decode()
    return f"event: {event}\ndata: {payload}\n\n"


KEEP_ALIVE = ":keepalive\n\n"  # §5.2: a comment line; the app ignores it
