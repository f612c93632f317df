"""SMPP time strings for schedule_delivery_time and validity_period (smpp.md §2).

Either empty (the SMSC's default) or exactly 16 characters `YYMMDDhhmmsstnnp`.
Absolute times are sent in UTC (`nn` = 00 quarter hours, `p` = "+"), so no
local zone is ever involved; relative ones end in "R" with `tnn` = "000".
A wrong length (15 characters is a common bug) is rejected by SMSCs.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Literal

ValidityMode = Literal["absolute", "relative", "none"]

_MINUTE, _HOUR, _DAY = 60, 3600, 86400
# Relative periods count years and months; SMSCs take them as 365 and 30 days.
_MONTH_DAYS, _YEAR_DAYS = 30, 365
MAX_RELATIVE = 99 * _YEAR_DAYS * _DAY


def absolute(moment: datetime) -> str:
    """`YYMMDDhhmmss000+` for `moment` in UTC; a naive `moment` is taken as UTC.
    Tenths of a second are dropped. ValueError outside the years 2000-2099,
    which the two-digit year cannot tell apart."""
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    if not 2000 <= utc.year <= 2099:
        raise ValueError(f"{utc.year} is outside what an SMPP time can say (2000-2099)")
    return utc.strftime("%y%m%d%H%M%S") + "000+"


def relative(seconds: int) -> str:
    """`YYMMDDhhmmss000R` for a period of `seconds` (1 s to 99 years).

    Up to 30 days the period is exact (DD counts days). Longer ones are told in
    years of 365 and months of 30 days; the few days that would make a
    twelfth month round up to the next year, never shortening the period.
    """
    if not 1 <= seconds <= MAX_RELATIVE:
        raise ValueError(f"relative time of {seconds} s outside 1 s to 99 years")
    days, rest = divmod(seconds, _DAY)
    hours, rest = divmod(rest, _HOUR)
    minutes, secs = divmod(rest, _MINUTE)
    years = months = 0
    if days > 30:
        years, days = divmod(days, _YEAR_DAYS)
        months, days = divmod(days, _MONTH_DAYS)
        if months == 12:  # 360-364 days past whole years
            years, months, days = years + 1, 0, 0
            hours = minutes = secs = 0
    return f"{years:02d}{months:02d}{days:02d}{hours:02d}{minutes:02d}{secs:02d}000R"


def validity_period(valid_until: datetime | None, now: datetime, *, mode: ValidityMode) -> str:
    """The validity_period for a message valid until `valid_until`.

    "" when there is none or the link sends none. Relative periods round up to
    whole seconds, at least 1 s (a moment already past still gets the SMSC's
    shortest try) and at most 99 years. Naive datetimes are taken as UTC.
    """
    if valid_until is None or mode == "none":
        return ""
    if mode == "absolute":
        return absolute(valid_until)
    left = (_as_utc(valid_until) - _as_utc(now)).total_seconds()
    return relative(min(max(math.ceil(left), 1), MAX_RELATIVE))


def _as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
