"""What goes in (Sms, Contact) and what comes back (SentSms, ContactResult,
CallResult), with their wire spelling kept in one place.

Results are read leniently: a missing field gets an empty value rather than an
exception, because the same classes read simgate and the hosted inSIM service.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# What the server accepts as a client id (simgate.domain.messages.CLIENT_ID_RE).
ID_ALPHABET = "A-Za-z0-9_.:-"


def new_id_sms_api() -> str:
    """A random client id: 22 URL-safe characters, all in ID_ALPHABET."""
    return secrets.token_urlsafe(16)


def format_send_date(value: datetime | str | None) -> str | None:
    """`date_to_send` on the wire.

    A naive datetime is the account's local time, sent as the reference's
    `YYYY-MM-DD HH:mm:ss`; an aware one is sent as ISO 8601 with its offset so
    that the server needs no guess. Strings pass through untouched.
    """
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Sms:
    """One SMS to send. `priority` is sent as the reference's `priorite`.

    `validity` (seconds) or `valid_until`, `sim` (1-based slot) and
    `marketing` are simgate's sending-policy fields (docs/policy.md); each is
    sent only when set, so an inSIM server never sees them."""

    phone_number: str
    message: str
    url: str | None = None
    priority: int | None = None
    date_to_send: datetime | str | None = None
    id_sms_api: str | None = None
    validity: int | None = None
    valid_until: datetime | str | None = None
    sim: int | None = None
    marketing: bool | None = None

    def to_wire(self) -> dict[str, Any]:
        item: dict[str, Any] = {"phone_number": self.phone_number, "message": self.message}
        if self.url is not None:
            item["url"] = self.url
        if self.priority is not None:
            item["priorite"] = self.priority
        if self.date_to_send is not None:
            item["date_to_send"] = format_send_date(self.date_to_send)
        if self.id_sms_api is not None:
            item["id_sms_api"] = self.id_sms_api
        if self.validity is not None:
            item["validity"] = self.validity
        if self.valid_until is not None:
            item["valid_until"] = format_send_date(self.valid_until)
        if self.sim is not None:
            item["sim"] = self.sim
        if self.marketing is not None:
            item["marketing"] = self.marketing
        return item


@dataclass(frozen=True, slots=True)
class Contact:
    """One contact to add or update (keyed by phone number on the server)."""

    phone_number: str
    first_name: str = ""
    last_name: str = ""
    address: str = ""
    email: str = ""

    def to_wire(self) -> dict[str, Any]:
        # The reference spells it `adress`; keep its spelling on the wire.
        return {
            "firstname": self.first_name,
            "lastname": self.last_name,
            "phone_number": self.phone_number,
            "adress": self.address,
            "email": self.email,
        }


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _errors(value: Any) -> list[str]:
    return [str(code) for code in value] if isinstance(value, list) else []


def parse_iso(value: Any) -> datetime | None:
    """ISO 8601 (`...Z` or with an offset) as an aware datetime; naive is UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SentSms:
    """One item of a sendsms answer. `sent` False means rejected, see `errors`."""

    id_sms_api: str
    sms_per_message: int
    user: str
    sent_time: datetime | None
    phone_number: str
    message: str
    sent: bool
    errors: list[str] = field(default_factory=list)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, item: Mapping[str, Any]) -> SentSms:
        parts = item.get("sms_per_message")
        return cls(
            id_sms_api=_text(item.get("id_sms_api")),
            sms_per_message=parts if isinstance(parts, int) else 0,
            user=_text(item.get("user")),
            sent_time=parse_iso(item.get("sent_time")),
            phone_number=_text(item.get("phone_number")),
            message=_text(item.get("message")),
            sent=item.get("sent") in (1, True, "1"),
            errors=_errors(item.get("errors")),
            raw=dict(item),
        )


@dataclass(frozen=True, slots=True)
class ContactResult:
    """One item of a contact answer. The reference spells success items
    `firstname, lastname, phonenumber` and failed ones `first_name, last_name,
    phone_number`; both are read. `errors` may hold the warning #004 (bad
    e-mail) on a contact that was stored all the same."""

    first_name: str
    last_name: str
    phone_number: str
    address: str
    email: str
    result: str
    errors: list[str] = field(default_factory=list)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.result == "success"

    @classmethod
    def from_wire(cls, item: Mapping[str, Any]) -> ContactResult:
        def pick(*names: str) -> str:
            for name in names:
                if name in item:
                    return _text(item[name])
            return ""

        return cls(
            first_name=pick("firstname", "first_name"),
            last_name=pick("lastname", "last_name"),
            phone_number=pick("phonenumber", "phone_number"),
            address=pick("adress", "address"),
            email=pick("email"),
            result=pick("result"),
            errors=_errors(item.get("errors")),
            raw=dict(item),
        )


@dataclass(frozen=True, slots=True)
class CallResult:
    """The click-to-call answer. `result` is "success" or "failed"; #002 in
    `errors` means no phone of the account is online."""

    result: str
    info: str
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.result == "success"

    @classmethod
    def from_wire(cls, item: Mapping[str, Any]) -> CallResult:
        return cls(
            result=_text(item.get("result")),
            info=_text(item.get("info")),
            errors=_errors(item.get("errors")),
        )
