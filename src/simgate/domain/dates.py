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
_LOCAL_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?$")


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
    """
    text = raw.strip()
    if not text:
        return None
    try:
        if _LOCAL_RE.match(text):
            moment = datetime.strptime(
                text if text.count(":") == 2 else text + ":00", _LOCAL_FORMAT
            )
        else:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InvalidDate(f"not a date: {raw!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # year 1 or 9999 shifted past the ends of the calendar
        raise InvalidDate(f"out of range: {raw!r}") from None
