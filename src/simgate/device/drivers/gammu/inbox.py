"""What the messages stored in a modem say: SMS received, delivery reports.

Pure: it reads the dicts python-gammu returns (shared/reference/gammu.md
section 4) and joins multipart SMS with `gammu.LinkSMS`, a codec function.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import gammu

from simgate.domain.sms import GSM7_EXTENSION


@dataclass(frozen=True, slots=True)
class Received:
    """One SMS (all of its parts) stored in the modem."""

    ref: str  # stable while it stays in the modem: the same SMS re-read is the same report
    sender: str
    text: str
    at: datetime
    locations: tuple[int, ...]
    complete: bool  # False while parts of a long SMS are still missing


@dataclass(frozen=True, slots=True)
class StatusReport:
    """A delivery report (SMS-STATUS-REPORT) stored in the modem."""

    reference: int  # the TP-MR that SendSMS returned for the part it is about
    recipient: str
    outcome: str  # "delivered", "pending" (the SMSC still tries) or "failed"
    status: int | None  # raw TP-Status
    at: datetime  # discharge time: when the recipient got it, or the SMSC gave up
    location: int


def read(stored: list[list[dict[str, Any]]]) -> tuple[list[Received], list[StatusReport]]:
    """Sort what `GetNextSMS` returned; stored outgoing messages are ignored."""
    delivers = [batch for batch in stored if batch[0].get("Type") == "Deliver"]
    reports = [
        _status_report(sms)
        for batch in stored
        for sms in batch
        if sms.get("Type") == "Status_Report"
    ]
    # Texts from the messages as read: after LinkSMS's round trip through C,
    # `Length` no longer counts septets (see part_text). LinkSMS only groups.
    texts = {sms["Location"]: part_text(sms) for batch in delivers for sms in batch}
    groups = gammu.LinkSMS(delivers) if delivers else []
    return [_received(group, texts) for group in groups], reports


def _received(group: list[dict[str, Any]], texts: dict[int, str]) -> Received:
    first = group[0]
    text = "".join(texts[sms["Location"]] for sms in group)
    locations = tuple(sms["Location"] for sms in group)
    sender = str(first.get("Number") or "unknown")
    at = utc(first.get("DateTime"))
    parts = int((first.get("UDH") or {}).get("AllParts") or 0)
    key = "|".join([sender, at.isoformat(), text, *map(str, sorted(locations))])
    ref = "g-" + hashlib.sha256(key.encode()).hexdigest()[:40]
    return Received(ref, sender, text, at, locations, complete=parts <= 1 or len(group) >= parts)


def part_text(sms: dict[str, Any]) -> str:
    """The text of one part as `GetNextSMS` gave it, cut to its User Data
    Length: libGammu may leave junk after a GSM 7-bit text that holds
    extension characters (the reference's addendum); `Length` counts septets
    there, UTF-16 units for UCS-2. An 8-bit (binary) part is given as hex."""
    text = sms.get("Text")
    if isinstance(text, bytes):
        return text.hex()
    if not isinstance(text, str):
        return ""
    length = sms.get("Length")
    if not isinstance(length, int) or length < 0:
        return text
    if sms.get("Coding") == "Default_No_Compression":
        return _cut(text, length, lambda char: 2 if char in GSM7_EXTENSION else 1)
    return _cut(text, length, lambda char: 2 if ord(char) > 0xFFFF else 1)


def _cut(text: str, length: int, size: Any) -> str:
    used = 0
    for index, char in enumerate(text):
        used += size(char)
        if used > length:
            return text[:index]
    return text


def _status_report(sms: dict[str, Any]) -> StatusReport:
    status = sms.get("DeliveryStatus")
    code = status if isinstance(status, int) else None
    return StatusReport(
        reference=int(sms.get("MessageReference") or 0),
        recipient=str(sms.get("Number") or ""),
        outcome=outcome(code, str(sms.get("Text") or "")),
        status=code,
        at=utc(sms.get("SMSCDateTime") or sms.get("DateTime")),
        location=sms["Location"],
    )


def outcome(status: int | None, text: str) -> str:
    """TP-Status (3GPP TS 23.040 9.2.3.15): below 0x20 the transaction is
    complete, 0x20-0x3F the SMSC still tries, from 0x40 it gave up. Gammu's
    own word (section 4.2) when the raw value is missing."""
    if status is None:
        return {"Delivered": "delivered", "Failed": "failed"}.get(text, "pending")
    if status < 0x20:
        return "delivered"
    if status < 0x40:
        return "pending"
    return "failed"


def utc(value: object) -> datetime:
    """python-gammu 3.5 gives aware UTC times, 3.2 naive ones (section 1),
    taken as UTC; a missing time is now."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.now(UTC)


def same_number(a: str, b: str) -> bool:
    """The same phone number written two ways (+33612345678 and 0612345678)."""
    da, db = _digits(a), _digits(b)
    if not da or not db:
        return a == b
    tail = min(len(da), len(db), 9)
    return da[-tail:] == db[-tail:]


def _digits(number: str) -> str:
    return "".join(char for char in number if char.isdigit())
