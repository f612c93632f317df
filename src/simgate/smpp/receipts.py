"""Delivery receipts: what a deliver_sm says about a submitted part, and how to find that part.

smpp.md §5. The text follows SMPP 3.4 Appendix B only loosely in practice
(12-digit dates, `err:0x1B`, `Text:`, fields missing or in another order), so
each field has its own case-insensitive pattern; the TLVs
`receipted_message_id` and `message_state` win over the text when present.
Parsing never raises: a receipt the gateway cannot read must still be
acknowledged, or the SMSC redelivers it forever.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# The final states and the outcome simgate gives them (smpp.md §5 table).
FINAL_STATES: dict[str, str] = {
    "DELIVRD": "delivered",
    "UNDELIV": "failed",
    "DELETED": "failed",
    "REJECTD": "failed",
    "UNKNOWN": "failed",
    "EXPIRED": "expired",
}
INTERMEDIATE_STATES = frozenset({"ACCEPTD", "ENROUTE"})
_KNOWN_STATES = INTERMEDIATE_STATES | FINAL_STATES.keys()

# TLV message_state (0x0427) values.
_MESSAGE_STATES = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}
# Spellings seen instead of the 7-letter ones.
_ALIASES = {
    "DELIVERED": "DELIVRD",
    "UNDELIVERABLE": "UNDELIV",
    "UNDELIVERED": "UNDELIV",
    "FAILED": "UNDELIV",
    "EXPIRD": "EXPIRED",
    "ACCEPTED": "ACCEPTD",
    "REJECTED": "REJECTD",
    "REJECT": "REJECTD",
}

_RECEIPT_TYPE = 0x04  # esm_class message type bits (0x3C) of an SMSC delivery receipt

# A field starts the text or follows white space. A value right after the
# colon is taken whole; after a space it must not look like the next field
# ("id: sub:001" has no id).
_ID = re.compile(
    r"(?:^|\s)id:(?:([^\s\x00]+)|[ \t]++(?![a-z_]+(?: [a-z_]+)?:)([^\s\x00]+))", re.IGNORECASE
)
_STAT = re.compile(r"(?:^|\s)stat:[ \t]*([a-z_]+)", re.IGNORECASE)
_ERR = re.compile(r"(?:^|\s)err:[ \t]*([0-9a-z]+)", re.IGNORECASE)
_DONE = re.compile(r"(?:^|\s)done[ _]?date:[ \t]*(\d{12}|\d{10})(?!\d)", re.IGNORECASE)
# The `text:` field quotes the message, which may itself hold "stat:" or "id:".
_TEXT = re.compile(r"(?:^|\s)text:", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Receipt:
    message_id: str  # "" when the receipt names none (it cannot be matched)
    stat: str  # 7-letter state, a state this parser does not know as given, or "" if none
    final: bool  # False for ACCEPTD/ENROUTE, unknown and missing states
    outcome: str | None  # "delivered" | "failed" | "expired" for final ones
    error: str | None  # the err field as given, or network_error_code as hex
    done_at: datetime | None  # done date as naive SMSC time


def parse_receipt(short_message: bytes, tlvs: Mapping[str, Any], esm_class: int) -> Receipt | None:
    """The receipt a deliver_sm (or data_sm) carries, or None when it is not one (an MO).

    A receipt is what esm_class says is one, or a text with both `id:` and
    `stat:` holding a known state, or TLVs with both receipted_message_id and
    message_state (some SMSCs send receipts with esm_class 0). None is also
    the answer for SME acknowledgements and other types without those, so
    the caller tells an MO by `(esm_class & 0x3C) == 0`, not by None alone.
    `tlvs` maps smpplib's names (or tag numbers) to ints, bytes or str.
    """
    text = _text(short_message)
    head = _before_text_field(text)
    text_id = _find(_ID, head, text)
    text_stat = _find(_STAT, head, text)
    tlv_id = _string(_tlv(tlvs, "receipted_message_id", 0x001E))
    tlv_state = _MESSAGE_STATES.get(_integer(_tlv(tlvs, "message_state", 0x0427)) or 0)
    stat = tlv_state or _normalise_state(text_stat or "")
    is_receipt = (
        (esm_class & 0x3C) == _RECEIPT_TYPE
        # A text must name a state we know: an MO reading "id:7 stat:ok" stays an MO.
        or (text_id is not None and stat in _KNOWN_STATES)
        or (bool(tlv_id) and tlv_state is not None)
    )
    if not is_receipt:
        return None
    outcome = FINAL_STATES.get(stat)
    return Receipt(
        message_id=tlv_id or text_id or "",
        stat=stat,
        final=outcome is not None,
        outcome=outcome,
        error=_error(_find(_ERR, head, text), _tlv(tlvs, "network_error_code", 0x0423), stat),
        done_at=_date(_find(_DONE, head, text)),
    )


def _text(short_message: bytes) -> str:
    text = short_message.decode("latin-1")
    if "\x00" in text and not _ID.search(text):
        # A receipt sent as UCS-2 (data_coding 8) by the odd SMSC.
        wide = short_message.decode("utf-16-be", errors="replace")
        if _ID.search(wide):
            return wide
    return text


def _before_text_field(text: str) -> str:
    found = _TEXT.search(text)
    return text if found is None else text[: found.start()]


def _find(pattern: re.Pattern[str], head: str, text: str) -> str | None:
    # Fields before `text:` first; one found only after it is still taken,
    # for SMSCs that put `text:` earlier than the spec's last place.
    found = pattern.search(head)
    if found is None and len(head) < len(text):
        found = pattern.search(text)
    if found is None:
        return None
    return next(group for group in found.groups() if group is not None)


def _tlv(tlvs: Mapping[str, Any], name: str, tag: int) -> Any:
    values: Mapping[Any, Any] = tlvs
    value = values.get(name)
    return values.get(tag) if value is None else value


def _string(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("latin-1")
    if not isinstance(value, str):
        return ""
    return value.strip("\x00 \t\r\n")


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, bytes | bytearray) and len(value) == 1:
        return value[0]
    text = _string(value)
    return int(text) if text.isascii() and text.isdigit() and len(text) < 6 else None


def _normalise_state(stat: str) -> str:
    upper = stat.upper()
    return _ALIASES.get(upper, upper[:16])


def _error(err: str | None, network_error: Any, stat: str) -> str | None:
    if err is not None:
        zero = err.lower().removeprefix("0x").strip("0") == ""
        return None if zero and stat == "DELIVRD" else err
    if isinstance(network_error, str):
        network_error = network_error.encode("latin-1", errors="replace")
    if isinstance(network_error, int) and not isinstance(network_error, bool):
        network_error = network_error.to_bytes(3, "big") if 0 <= network_error < 1 << 24 else b""
    if not isinstance(network_error, bytes | bytearray) or not network_error:
        return None
    # Network type, then the error code: a zero code on a delivered part is no error.
    if stat == "DELIVRD" and not any(network_error[1:]):
        return None
    return bytes(network_error).hex()


def _date(digits: str | None) -> datetime | None:
    if digits is None:
        return None
    fields = [int(digits[i : i + 2]) for i in range(0, len(digits), 2)]
    year, month, day, hour, minute = fields[:5]
    second = fields[5] if len(fields) > 5 else 0
    try:
        return datetime(2000 + year, month, day, hour, minute, second)
    except ValueError:
        return None


def id_keys(message_id: str) -> list[str]:
    """The forms a message_id is matched by, most certain first (smpp.md §5 "Matching").

    The id as given; stripped, case-folded, leading zeros removed; then, when
    that parses as such, its value as hex written in decimal and as decimal
    written in hex (SMPP 3.3 SMSCs answer hex ids and receipt them in decimal,
    or the reverse). A submit's keys and its receipt's keys intersect. A
    match through the later keys can be ambiguous among all-digit ids (hex
    "10" is decimal "16"): prefer the candidate `match_rank` ranks lowest.
    An empty id has no keys.
    """
    normal = _normal(message_id)
    if not normal:
        return []
    return list(dict.fromkeys([message_id, normal, *_other_bases(normal)]))


def match_rank(submitted_id: str, receipted_id: str) -> int | None:
    """How surely a receipt's id names a submitted part: 0 the same text,
    1 the same after normalising, 2 the same number in the other base,
    None no match."""
    submitted, receipted = _normal(submitted_id), _normal(receipted_id)
    if not submitted or not receipted:
        return None
    if submitted_id == receipted_id:
        return 0
    if submitted == receipted:
        return 1
    if receipted in _other_bases(submitted) or submitted in _other_bases(receipted):
        return 2
    return None


def _normal(message_id: str) -> str:
    folded = message_id.strip().strip("\x00").casefold()
    if not folded:
        return ""
    return folded.lstrip("0") or "0"


def _other_bases(normal: str) -> list[str]:
    if len(normal) > 64 or not normal.isascii():  # longer is no SMPP id (and slow to convert)
        return []
    found = []
    if all(char in "0123456789abcdef" for char in normal):
        found.append(str(int(normal, 16)))
    if normal.isdigit():
        found.append(format(int(normal), "x"))
    return found
