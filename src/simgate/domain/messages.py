"""Judging one message of a sendsms request, without I/O.

Each message is judged alone: the result is either a `Draft` ready to store or
a list of error codes, whose texts are `simgate._wire.SMS_ERRORS` (explained in
docs/errors.md).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from simgate.domain import ids, placeholders
from simgate.domain.dates import InvalidDate, parse_send_date
from simgate.domain.numbers import InvalidNumber, to_e164
from simgate.domain.policy import MAX_SIM, MAX_VALIDITY, MIN_VALIDITY
from simgate.domain.sms import MAX_PARTS, MAX_TEXT, count_segments

CLIENT_ID_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")
E164_RE = re.compile(r"\+[1-9][0-9]{6,14}")
PRIORITY_RANGE = range(-1000, 1001)
# ASCII digits only: `\d` and str.isdigit take "²" and "١", and int() of a
# 5,000-digit string raises.
PRIORITY_RE = re.compile(r"\s*(-?[0-9]{1,6})\s*")
MAX_URL_LENGTH = 2000
EXTENSION_FIELDS = ("validity", "valid_until", "sim", "marketing")
COUNT_LIMIT = 4 * MAX_TEXT  # a refused text longer than this is answered sms_per_message 0

# Many messages in a batch go to the same few numbers; parsing is the costly step.
_cached_e164 = lru_cache(maxsize=65536)(to_e164)


@dataclass(slots=True)
class Draft:
    """An accepted message, ready to insert."""

    id_sms_api: str
    client_id: bool
    request_hash: str  # "" for a generated id: it can never be repeated
    phone_number: str
    text: str  # as the client sent it
    message: str  # final: placeholders replaced, link appended
    url: str | None
    short_code: str | None
    priority: int
    encoding: str
    segments: int
    send_at: datetime | None  # None: now
    # Sending policy (docs/policy.md): the message's own validity end, SIM slot
    # and marketing flag as the client gave them; `windowed` is settled by the
    # account's policy when it is stored (services/sending_policy.py).
    valid_until: datetime | None = None
    sim: int | None = None
    marketing: bool | None = None
    windowed: bool = False


@dataclass(slots=True)
class Rejected:
    id_sms_api: str
    request_hash: str | None
    phone_number: Any
    message: Any
    segments: int
    errors: list[str]


def request_hash(item: Mapping[str, Any]) -> str:
    """What makes two posts of one id_sms_api "the same message"."""
    fields = [
        item.get("phone_number"),
        item.get("message"),
        item.get("url") or "",
        _raw_priority(item),
        item.get("date_to_send") or "",
    ]
    # simgate's extension fields count only when given, so that the hash of a
    # message without them is the one it always had.
    fields += [[name, item[name]] for name in EXTENSION_FIELDS if item.get(name) is not None]
    text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _raw_priority(item: Mapping[str, Any]) -> Any:
    return item.get("priorite", item.get("priority"))


def _priority(raw: Any) -> int | None:
    if raw is None or raw == "":
        return 1
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    elif isinstance(raw, str) and (match := PRIORITY_RE.fullmatch(raw)):
        value = int(match[1])
    else:
        return None
    return value if value in PRIORITY_RANGE else None


# A batch's messages usually share one link: check each distinct one once.
@lru_cache(maxsize=1024)
def _valid_url(url: str) -> bool:
    if len(url) > MAX_URL_LENGTH or not url.isprintable() or " " in url:
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:  # "http://[x": an unclosed IPv6 bracket
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def judge(
    item: Any,
    region: str,
    tz: ZoneInfo,
    public_url: str,
    now: datetime,
    new_code: Callable[[], str] = ids.short_code,
    *,
    trusted_numbers: bool = False,
) -> Draft | Rejected:
    """Judge one message alone: each field is read in turn (its error codes
    noted, in the order the answer lists them), then the text is rendered.

    With `trusted_numbers`, a number already in E.164 is taken as it is: the
    caller checked it before (a campaign's recipients, checked when it was
    made); parsing is most of the judging's cost."""
    if not isinstance(item, dict):
        return Rejected("", None, "", "", 0, ["#009"])
    errors: list[str] = []
    id_sms_api, client_id = _read_id(item.get("id_sms_api"), errors)
    raw_number = item.get("phone_number")
    phone_number = (
        raw_number
        if trusted_numbers and isinstance(raw_number, str) and E164_RE.fullmatch(raw_number)
        else _read_number(raw_number, region, errors)
    )
    text = _read_text(item.get("message"), errors)
    send_at = _read_send_at(item.get("date_to_send"), tz, now, errors)
    priority = _priority(_raw_priority(item))
    if priority is None:
        errors.append("#005")
    url = _read_url(item.get("url"), errors)
    valid_until = _read_validity(item, tz, send_at or now, errors)
    sim = _read_sim(item.get("sim"), errors)
    marketing = _read_flag(item.get("marketing"), "#015", errors)

    # Only a client's own id can be repeated, so only then is the hash needed.
    digest = request_hash(item) if client_id else ""
    shown_id = id_sms_api if client_id else ""
    if errors:
        # Counting is linear; past a few times the longest SMS it only tells "far too long".
        segments = count_segments(text).parts if text and len(text) <= COUNT_LIMIT else 0
        shown = raw_number if raw_number is not None else ""
        return Rejected(shown_id, digest, shown, text, segments, errors)

    assert priority is not None
    code = new_code() if url else None
    final = placeholders.render(text, f"{public_url}/{code}" if code else None)
    if not final.strip():  # it was only a placeholder, and there is no url
        return Rejected(shown_id, digest, raw_number, text, 0, ["#003"])
    seg = count_segments(final)
    if seg.parts > MAX_PARTS:  # a device could never send it: refuse it alone
        return Rejected(shown_id, digest, raw_number, text, seg.parts, ["#010"])
    return Draft(
        id_sms_api=id_sms_api,
        client_id=client_id,
        request_hash=digest,
        phone_number=phone_number,
        text=text,
        message=final,
        url=url,
        short_code=code,
        priority=priority,
        encoding=seg.encoding,
        segments=seg.parts,
        send_at=send_at,
        valid_until=valid_until,
        sim=sim,
        marketing=marketing,
    )


# The readers below each take one field as the client sent it, note its error
# codes in `errors` and return the value to keep.


def _read_id(raw_id: Any, errors: list[str]) -> tuple[str, bool]:
    """(id_sms_api, whether the client chose it); a new id when it did not."""
    if raw_id in (None, ""):
        return ids.message_id(), False
    id_sms_api = str(raw_id) if isinstance(raw_id, str | int) else ""
    if isinstance(raw_id, bool) or not CLIENT_ID_RE.fullmatch(id_sms_api):
        errors.append("#008")
        id_sms_api = raw_id if isinstance(raw_id, str) else ""
    return id_sms_api, True


def _read_number(raw_number: Any, region: str, errors: list[str]) -> str:
    """The number in E.164 ("" when it is missing or invalid)."""
    if raw_number is None or (isinstance(raw_number, str) and not raw_number.strip()):
        errors.append("#002")
    elif not isinstance(raw_number, (str, int)) or isinstance(raw_number, bool):
        errors.append("#001")
    else:
        try:
            return _cached_e164(str(raw_number), region)
        except InvalidNumber:
            errors.append("#001")
    return ""


def _read_text(text: Any, errors: list[str]) -> str:
    if not isinstance(text, str) or not text.strip():
        errors.append("#003")
        return text if isinstance(text, str) else ""
    if "\x00" in text:
        errors.append("#011")  # no store keeps it the same (PostgreSQL refuses it)
    elif len(text) > MAX_TEXT:
        errors.append("#010")
    return text


def _read_send_at(raw_date: Any, tz: ZoneInfo, now: datetime, errors: list[str]) -> datetime | None:
    """When to send it; None for now (no date, or one already past)."""
    if raw_date in (None, ""):
        return None
    if not isinstance(raw_date, str):
        errors.append("#004")
        return None
    try:
        send_at = parse_send_date(raw_date, tz)
    except InvalidDate:
        errors.append("#004")
        return None
    return send_at if send_at is not None and send_at > now else None


def _read_url(url: Any, errors: list[str]) -> str | None:
    if url in (None, ""):
        return None
    if not isinstance(url, str) or not _valid_url(url.strip()):
        errors.append("#006")
        return None
    return url.strip()


def _read_validity(
    item: Mapping[str, Any], tz: ZoneInfo, starts: datetime, errors: list[str]
) -> datetime | None:
    """When the message stops being worth sending: `validity` seconds after
    its send date (or now), or `valid_until`; None when neither is given."""
    validity, until = item.get("validity"), item.get("valid_until")
    if validity in (None, "") and until in (None, ""):
        return None
    if validity not in (None, "") and until not in (None, ""):
        errors.append("#013")  # one or the other
        return None
    if until not in (None, ""):
        try:
            end = parse_send_date(until, tz) if isinstance(until, str) else None
        except InvalidDate:
            end = None
        if end is None or end <= starts or end > starts + timedelta(seconds=MAX_VALIDITY):
            errors.append("#013")
            return None
        return end
    seconds = _whole(validity)
    if seconds is None or not MIN_VALIDITY <= seconds <= MAX_VALIDITY:
        errors.append("#013")
        return None
    return starts + timedelta(seconds=seconds)


def _whole(raw: Any) -> int | None:
    """A whole number sent as a number or as a string of ASCII digits."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and (match := PRIORITY_RE.fullmatch(raw)):
        return int(match[1])
    return None


def _read_sim(raw: Any, errors: list[str]) -> int | None:
    if raw in (None, ""):
        return None
    slot = _whole(raw)
    if slot is None or not 1 <= slot <= MAX_SIM:
        errors.append("#014")
        return None
    return slot


_FLAGS: dict[object, bool] = {"true": True, "false": False, "1": True, "0": False}


def _read_flag(raw: Any, code: str, errors: list[str]) -> bool | None:
    """true/false (1/0, "true"/"false" too); None when not given."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return raw == 1
    if isinstance(raw, str) and raw.strip().lower() in _FLAGS:
        return _FLAGS[raw.strip().lower()]
    errors.append(code)
    return None
