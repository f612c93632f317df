"""Webhooks from simgate (or the hosted inSIM service) as typed events.

A webhook is a GET to your callback URL with one query parameter, named after
its kind, holding encodeURIComponent(JSON):

    message        IncomingSms        calls    CallEvent
    clics          LinkClick          qualification  CallQualification
    status         DeliveryStatus

`parse(x)` takes what your framework gives you (Flask's `request.args`,
Starlette/FastAPI's `request.query_params`, Django's `request.GET`, any dict),
a raw query string, a full URL, or the JSON text itself, and returns the event.
Field names are the wire names, except `from`, which becomes `from_`.

Dates are aware datetimes. The reference sends two formats: ISO 8601 with `Z`
(IncomingSms.date, DeliveryStatus.date_status), read as UTC; and
`YYYY-MM-DD HH:mm:ss` (CallEvent.call_time, LinkClick.date,
CallQualification.date), which is local time of the account; pass the
account's zone as `parse(x, tz="Europe/Paris")` (default: UTC).

`verify(x, headers, secret)` checks a Standard Webhooks signature (headers
webhook-id, webhook-timestamp, webhook-signature; secret "whsec_...") over the
JSON text, then parses it. Everything wrong raises InvalidWebhook (or its
subclass InvalidSignature) with a `reason`; it never echoes the payload.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, ClassVar, Protocol
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from simgate._wire import (
    CALL_KINDS,
    DELIVERY_STATUSES,
    QUALIFICATION_TITLES,
    WEBHOOK_KINDS,
    CallKind,
    DeliveryStatusValue,
    QualificationTitle,
    sign,
)

__all__ = [
    "CallEvent",
    "CallQualification",
    "DeliveryStatus",
    "Event",
    "IncomingSms",
    "InvalidSignature",
    "InvalidWebhook",
    "LinkClick",
    "parse",
    "sign",
    "verify",
]

DEFAULT_TOLERANCE = 300  # seconds; the Standard Webhooks default


class InvalidWebhook(ValueError):
    """The request is not a webhook this module understands; see `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidSignature(InvalidWebhook):
    """Missing, wrong or stale signature: answer 401 and do not act on it."""


@dataclass(frozen=True, slots=True)
class IncomingSms:
    kind: ClassVar[str] = "message"
    device_identification: str
    from_: str
    message: str
    date: datetime
    title: str = "incoming_sms"
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class CallEvent:
    kind: ClassVar[str] = "calls"
    device_identification: str
    title: CallKind
    phone_number: str
    call_time: datetime
    duration: str  # "HH:mm:ss", or "0"
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def duration_seconds(self) -> int | None:
        """`duration` in seconds, or None when it is not `[[HH:]mm:]ss`."""
        parts = self.duration.strip().split(":")
        if len(parts) > 3 or not all(p.isdigit() for p in parts):
            return None
        seconds = 0
        for part in parts:
            seconds = seconds * 60 + int(part)
        return seconds


@dataclass(frozen=True, slots=True)
class LinkClick:
    kind: ClassVar[str] = "clics"
    id_sms_api: str
    phone_number: str
    link: str
    date: datetime
    title: str = "clicked link"
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class CallQualification:
    kind: ClassVar[str] = "qualification"
    device_identification: str
    title: QualificationTitle
    from_: str
    date: datetime
    qualification: str
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def source(self) -> str:
        """One of QUALIFICATION_SOURCES: "mobile" or "interface"."""
        return self.title.removeprefix("call_qualification_from_")


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    kind: ClassVar[str] = "status"
    user: str
    phone_number: str
    status: DeliveryStatusValue  # "failed" is simgate's extension
    date_status: datetime
    id_sms_api: str
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


Event = IncomingSms | CallEvent | LinkClick | CallQualification | DeliveryStatus
Source = str | bytes | Mapping[str, Any]


class Headers(Protocol):
    def items(self) -> Iterable[tuple[str, str]]: ...


def parse(source: Source, *, tz: tzinfo | str = UTC) -> Event:
    """The typed event carried by a webhook request (see the module docstring)."""
    kind, text = _extract(source)
    return _build(kind, _load(text), _zone(tz))


def verify(
    source: Source,
    headers: Headers,
    secret: str | bytes,
    *,
    tolerance: int | timedelta = DEFAULT_TOLERANCE,
    tz: tzinfo | str = UTC,
    now: float | None = None,
) -> Event:
    """Check the Standard Webhooks signature of a webhook, then parse it.

    `headers` is any mapping of the request's headers (any letter case);
    `secret` is the account's signing secret ("whsec_<base64>"). A timestamp
    further than `tolerance` from now is refused, so a captured request cannot
    be replayed later.
    """
    kind, text = _extract(source)
    _check_signature(text, headers, secret, tolerance, now)
    return _build(kind, _load(text), _zone(tz))


# --- getting the JSON text out of the request -------------------------------------


def _extract(source: Source) -> tuple[str | None, str]:
    """(kind, JSON text); kind None when the caller handed the JSON text itself."""
    if isinstance(source, bytes):
        try:
            source = source.decode()
        except UnicodeDecodeError:
            raise InvalidWebhook("the webhook is not UTF-8") from None
    if isinstance(source, str):
        text = source.strip()
        if not text:
            raise InvalidWebhook("the webhook is empty")
        if text.startswith("{"):
            return None, text
        return _pick(_query_pairs(text))
    if isinstance(source, Mapping):
        pairs: dict[str, Any] = {}
        for key in source.keys():
            value = source[key]
            if isinstance(value, list | tuple):  # parse_qs() or to_dict(flat=False)
                value = value[0] if value else ""
            pairs[str(key)] = value
        return _pick(pairs)
    raise InvalidWebhook(f"cannot read a webhook from a {type(source).__name__}")


def _query_pairs(text: str) -> dict[str, Any]:
    if "://" in text or text.startswith("/"):
        text = urlsplit(text).query
    text = text.removeprefix("?")
    pairs: dict[str, Any] = {}
    # encodeURIComponent escapes '&', '=' and '+', so they only ever delimit;
    # a '+' is kept as '+' (it is not form encoding).
    for part in text.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        try:
            pairs.setdefault(unquote(key, errors="strict"), unquote(value, errors="strict"))
        except UnicodeDecodeError:
            raise InvalidWebhook("a query parameter is not UTF-8") from None
    return pairs


def _pick(pairs: dict[str, Any]) -> tuple[str, str]:
    if not pairs:
        raise InvalidWebhook("the webhook has no query parameter")
    found = [kind for kind in WEBHOOK_KINDS if kind in pairs]
    if not found:
        names = ", ".join(sorted(pairs)[:5])
        expected = ", ".join(WEBHOOK_KINDS)
        raise InvalidWebhook(f"unknown parameter {names}; expected one of {expected}")
    if len(found) > 1:
        raise InvalidWebhook(f"several webhook parameters: {', '.join(found)}")
    value = pairs[found[0]]
    if not isinstance(value, str):
        raise InvalidWebhook(f"parameter {found[0]} is not text")
    if not value.strip():
        raise InvalidWebhook(f"parameter {found[0]} is empty")
    return found[0], value


def _load(text: str) -> dict[str, Any]:
    try:
        payload = json.loads(text)
    except ValueError:
        # Still percent-encoded (a value taken from a raw query string by hand)?
        if not text.lstrip().startswith("%7"):
            raise InvalidWebhook("the payload is not JSON") from None
        try:
            payload = json.loads(unquote(text, errors="strict"))
        except (ValueError, UnicodeDecodeError):
            raise InvalidWebhook("the payload is not JSON") from None
    if not isinstance(payload, dict):
        raise InvalidWebhook("the payload is not a JSON object")
    return payload


# --- typed events --------------------------------------------------------------------


def _infer_kind(payload: Mapping[str, Any]) -> str:
    title = payload.get("title")
    if title == "incoming_sms":
        return "message"
    if title in CALL_KINDS:
        return "calls"
    if title == "clicked link":
        return "clics"
    if title in QUALIFICATION_TITLES:
        return "qualification"
    if "date_status" in payload and "status" in payload:
        return "status"
    raise InvalidWebhook("cannot tell which kind of webhook this payload is")


def _build(kind: str | None, payload: dict[str, Any], tz: tzinfo) -> Event:
    kind = kind or _infer_kind(payload)
    get = _Fields(payload)
    event: Event
    if kind == "message":
        get.title({"incoming_sms"})
        event = IncomingSms(
            device_identification=get.text("device_identification"),
            from_=get.text("from"),
            message=get.text("message", allow_empty=True),
            date=get.date("date", UTC),
            raw=payload,
        )
    elif kind == "calls":
        event = CallEvent(
            device_identification=get.text("device_identification"),
            title=get.title(CALL_KINDS),  # type: ignore[arg-type]
            phone_number=get.text("phone_number"),
            call_time=get.date("call_time", tz),
            duration=get.text("duration"),
            raw=payload,
        )
    elif kind == "clics":
        get.title({"clicked link"})
        event = LinkClick(
            id_sms_api=get.text("id_sms_api"),
            phone_number=get.text("phone_number"),
            link=get.text("link"),
            date=get.date("date", tz),
            raw=payload,
        )
    elif kind == "qualification":
        event = CallQualification(
            device_identification=get.text("device_identification"),
            title=get.title(QUALIFICATION_TITLES),  # type: ignore[arg-type]
            from_=get.text("from"),
            date=get.date("date", tz),
            qualification=get.text("qualification", allow_empty=True),
            raw=payload,
        )
    else:
        status = get.text("status")
        if status not in DELIVERY_STATUSES:
            get.problems.append(f"status must be one of {', '.join(DELIVERY_STATUSES)}")
        event = DeliveryStatus(
            user=get.text("user"),
            phone_number=get.text("phone_number"),
            status=status,  # type: ignore[arg-type]
            date_status=get.date("date_status", UTC),
            id_sms_api=get.text("id_sms_api"),
            raw=payload,
        )
    get.done(kind)
    return event


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Fields:
    """Reads fields, collecting every problem so that one error names them all."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.missing: list[str] = []
        self.problems: list[str] = []

    def text(self, name: str, allow_empty: bool = False) -> str:
        value = self.payload.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str) or (not allow_empty and not value.strip()):
            if value is None or value == "":
                self.missing.append(name)
            else:
                self.problems.append(f"{name} is not text")
            return ""
        return value

    def title(self, allowed: Iterable[str]) -> str:
        title = self.text("title")
        allowed = tuple(allowed)
        if title and title not in allowed:
            self.problems.append(f"wrong title for this kind; expected {' or '.join(allowed)}")
        return title

    def date(self, name: str, default_tz: tzinfo) -> datetime:
        text = self.text(name)
        if not text:
            return _EPOCH
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            self.problems.append(f"{name} is not a date")
            return _EPOCH
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=default_tz)

    def done(self, kind: str) -> None:
        reasons = []
        if self.missing:
            reasons.append("missing field " + ", ".join(self.missing))
        reasons.extend(self.problems)
        if reasons:
            raise InvalidWebhook(f"{kind} webhook: " + "; ".join(reasons))


def _zone(tz: tzinfo | str) -> tzinfo:
    if isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz!r}") from None


# --- Standard Webhooks signatures ----------------------------------------------------


def _check_signature(
    text: str,
    headers: Headers,
    secret: str | bytes,
    tolerance: int | timedelta,
    now: float | None,
) -> None:
    found = {key.lower(): value for key, value in headers.items()}
    msg_id = found.get("webhook-id")
    stamp = found.get("webhook-timestamp")
    signatures = found.get("webhook-signature")
    if not msg_id or not stamp or not signatures:
        raise InvalidSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise InvalidSignature("webhook-timestamp is not a number") from None
    window = tolerance.total_seconds() if isinstance(tolerance, timedelta) else tolerance
    current = time.time() if now is None else now
    if timestamp < current - window:
        raise InvalidSignature("webhook-timestamp is too old")
    if timestamp > current + window:
        raise InvalidSignature("webhook-timestamp is in the future")
    expected = sign(text, secret, msg_id, stamp).encode()
    for candidate in signatures.split():
        if hmac.compare_digest(candidate.encode(), expected):
            return
    raise InvalidSignature("no valid signature")
