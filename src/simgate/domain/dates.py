"""Dates on the wire.

The reference uses two formats: ISO 8601 UTC with milliseconds and `Z`
(`sent_time`, `date`, `date_status`) and `YYYY-MM-DD HH:mm:ss` in the account's
time zone (`date_to_send`, `call_time`, clicks and qualifications). Inside,
simgate keeps naive UTC datetimes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

_LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"
_LOCAL_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}(:[0-9]{2})?")
# Dates a client may give: far enough out for any schedule, and clear of the
# limits of datetime (years 1 and 9999), where converting between zones overflows.
EARLIEST = datetime(2000, 1, 1)
LATEST = datetime(2100, 1, 1)
MAX_DATE_LENGTH = 64


class InvalidDate(ValueError):
    pass


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def iso_z(moment: datetime) -> str:
    """`2025-10-29T10:16:10.541Z` from a naive UTC datetime."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def local_text(moment: datetime, tz: ZoneInfo) -> str:
    """`2025-10-29 10:16:10` in the account's time zone, from a naive UTC datetime."""
    return moment.replace(tzinfo=UTC).astimezone(tz).strftime(_LOCAL_FORMAT)


def parse_send_date(raw: str, tz: ZoneInfo) -> datetime | None:
    """Read `date_to_send`; None means "now" (empty). Returns naive UTC.

    `YYYY-MM-DD HH:mm:ss` is local to the account; ISO 8601 with an offset is
    taken as it says, and without one is read in the account's time zone too.
    Dates outside 2000-2099 are refused (InvalidDate), like any unreadable one.
    """
    text = raw.strip()
    if not text:
        return None
    if len(text) > MAX_DATE_LENGTH:
        raise InvalidDate("date_to_send is too long")
    try:
        if _LOCAL_RE.fullmatch(text):
            moment = datetime.strptime(
                text if text.count(":") == 2 else text + ":00", _LOCAL_FORMAT
            )
        else:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InvalidDate(f"not a date: {raw!r}") from None
    if not EARLIEST.year <= moment.year < LATEST.year:
        raise InvalidDate(f"{raw!r} is not between {EARLIEST.year} and {LATEST.year - 1}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    if not EARLIEST <= utc < LATEST:
        raise InvalidDate(f"{raw!r} is not between {EARLIEST.year} and {LATEST.year - 1}")
    return utc


def parse_reported_time(raw: object) -> datetime | None:
    """A time a phone reported (ISO 8601, any offset) as naive UTC, or None
    when it is missing or unusable.

    A time that is not ISO 8601, or falls outside 2000-2099 (a phone whose
    clock was reset), is not a reason to lose the report: the caller uses the
    server's own time instead.
    """
    if not isinstance(raw, str) or not raw or len(raw) > MAX_DATE_LENGTH:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return None
    if not EARLIEST.year <= moment.year < LATEST.year:
        return None  # also keeps the conversion below clear of datetime's limits
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment if EARLIEST <= moment < LATEST else None
