"""An account's sending policy (DESIGN section 11, docs/policy.md): its
settings, their defaults and their checks. Pure, no I/O.

The settings live in `account_policies` (store/policies.py), one row per
account that changed one; an account without a row has `AccountPolicy()`.
The rules that use them live beside: domain/optout.py (keywords),
domain/windows.py (sending windows), services/sending_policy.py (applied to
each new message).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import time
from typing import Any

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # Monday is 0, as in date.weekday()

# Bounds of each setting: what a person could mean, no more.
MIN_VALIDITY = 60  # seconds
MAX_VALIDITY = 30 * 86400
MAX_CAP = 10_000_000
MAX_REPLY = 640  # characters: four GSM-7 parts, enough for any confirmation
MAX_KEYWORDS = 50
MAX_KEYWORD = 40
MAX_WINDOWS = 14
MIN_PERIOD = 60
MAX_PERIOD = 365 * 86400
MAX_SIM = 8  # SIM slots a device may declare


class PolicyError(ValueError):
    """A setting out of its bounds; `field` names it."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Window:
    """Sending is allowed on `days` (0 Monday … 6 Sunday) from `start` to `end`,
    local time of the account. `end` <= `start` crosses midnight: the hours
    after midnight belong to the day the window opened."""

    days: frozenset[int]
    start: time
    end: time

    def as_json(self) -> dict[str, Any]:
        return {
            "days": sorted(self.days),
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
        }

    def __str__(self) -> str:
        end = "24:00" if self.end == self.start == time(0) else f"{self.end:%H:%M}"
        return f"{_days_text(self.days)} {self.start:%H:%M}-{end}"


@dataclass(frozen=True, slots=True)
class AccountPolicy:
    # Opt-out (STOP). None: the documented default keywords (domain/optout.py).
    optout_enabled: bool = True
    optout_keywords: tuple[str, ...] | None = None
    optin_keywords: tuple[str, ...] | None = None
    optout_reply: str = ""  # sent to a number that opted out; "" sends nothing
    optin_reply: str = ""
    # Quiet hours: no window means any hour.
    windows: tuple[Window, ...] = ()
    skip_holidays: bool = False  # public holidays of the account's country (its region)
    window_for_api: bool = False  # API and dashboard messages keep to the window too
    window_for_campaigns: bool = True
    # Validity given to messages that name none, in seconds; None: no limit.
    default_validity: int | None = None
    # Messages first handed to a phone per hour / per local day; None: no cap.
    hourly_cap: int | None = None
    daily_cap: int | None = None
    # Sent once per number per period after a missed call; "" sends nothing.
    missed_call_reply: str = ""
    missed_call_period: int = 86400

    def windowed(self, *, campaign: bool, marketing: bool | None) -> bool:
        """Whether a new message keeps to the sending window."""
        if not self.windows:
            return False
        if marketing is not None and marketing:
            return True
        return self.window_for_campaigns if campaign else self.window_for_api


DEFAULT = AccountPolicy()

# The French operators' rule for marketing SMS (offered in the dashboard, never
# forced): Monday to Saturday 08:00-20:00, none on Sundays and public holidays.
FRENCH_MARKETING = (Window(frozenset(range(6)), time(8), time(20)),)


# --- text forms (dashboard, CLI) ---------------------------------------------------

_WINDOW_RE = re.compile(
    r"\s*(?P<days>[a-z]{3}(?:\s*-\s*[a-z]{3})?(?:\s*,\s*[a-z]{3}(?:\s*-\s*[a-z]{3})?)*)"
    r"\s+(?P<start>[0-9]{1,2}:[0-9]{2})\s*-\s*(?P<end>[0-9]{1,2}:[0-9]{2})\s*",
)


def _days_text(days: frozenset[int]) -> str:
    """Monday to Saturday as "Mon-Sat", Monday and Wednesday as "Mon,Wed"."""
    parts: list[str] = []
    ordered = sorted(days)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        first, last = DAY_NAMES[ordered[i]].title(), DAY_NAMES[ordered[j]].title()
        parts.append(first if i == j else f"{first}-{last}")
        i = j + 1
    return ",".join(parts)


def _time(text: str, name: str) -> time:
    hours, minutes = (int(p) for p in text.split(":"))
    if hours == 24 and minutes == 0:
        return time(0)  # "24:00" ends at midnight
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise PolicyError("windows", f"{text!r} is not a time of day ({name})")
    return time(hours, minutes)


def parse_window(text: str) -> Window:
    """"Mon-Sat 08:00-20:00", "Mon,Wed,Fri 09:00-12:00", "Fri-Sat 22:00-02:00"."""
    if "\x00" in text or len(text) > 200:
        raise PolicyError("windows", "a window is at most 200 characters")
    match = _WINDOW_RE.fullmatch(text.lower())
    if match is None:
        raise PolicyError(
            "windows", f"{text.strip()!r}: write days and hours like 'Mon-Sat 08:00-20:00'"
        )
    days: set[int] = set()
    for part in match["days"].split(","):
        names = [n.strip() for n in part.split("-")]
        try:
            indexes = [DAY_NAMES.index(n) for n in names]
        except ValueError:
            raise PolicyError("windows", f"{part.strip()!r}: days are Mon, Tue ... Sun") from None
        first, last = indexes[0], indexes[-1]
        span = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        days.update(span)
    start, end = _time(match["start"], "start"), _time(match["end"], "end")
    # "00:00-24:00" is the whole day (a window of 24 hours, domain/windows);
    # any other equal pair is more likely a typo than a day-long window.
    if start == end and not (start == time(0) and match["end"].endswith("24:00")):
        raise PolicyError("windows", f"{text.strip()!r}: a window cannot open and close at once")
    return Window(frozenset(days), start, end)


def parse_windows(text: str) -> tuple[Window, ...]:
    """Windows one per line or separated by ";"; blank: none."""
    pieces = [p for p in re.split(r"[;\n]", text) if p.strip()]
    if len(pieces) > MAX_WINDOWS:
        raise PolicyError("windows", f"at most {MAX_WINDOWS} windows")
    return tuple(parse_window(p) for p in pieces)


def windows_text(windows: tuple[Window, ...]) -> str:
    return "; ".join(str(w) for w in windows)


# --- checks and the stored form ------------------------------------------------------


def check_reply(name: str, text: str) -> str:
    if "\x00" in text:
        raise PolicyError(name, "no NUL character")
    if len(text) > MAX_REPLY:
        raise PolicyError(name, f"at most {MAX_REPLY} characters")
    return text.strip()


def check_keywords(name: str, words: list[str] | tuple[str, ...] | None) -> tuple[str, ...] | None:
    if words is None:
        return None
    cleaned = tuple(dict.fromkeys(w.strip() for w in words if w.strip()))
    if len(cleaned) > MAX_KEYWORDS:
        raise PolicyError(name, f"at most {MAX_KEYWORDS} keywords")
    for word in cleaned:
        if len(word) > MAX_KEYWORD or "\x00" in word:
            raise PolicyError(name, f"{word[:20]!r}: a keyword is at most {MAX_KEYWORD} characters")
    return cleaned


def check_range(name: str, value: int | None, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PolicyError(name, f"a whole number from {low} to {high}")
    return value


def checked(policy: AccountPolicy) -> AccountPolicy:
    """`policy` with every setting inside its bounds; raises PolicyError."""
    period = check_range("missed_call_period", policy.missed_call_period, MIN_PERIOD, MAX_PERIOD)
    if len(policy.windows) > MAX_WINDOWS:
        raise PolicyError("windows", f"at most {MAX_WINDOWS} windows")
    if any(not w.days for w in policy.windows):  # it would never open (domain/windows)
        raise PolicyError("windows", "a window needs at least one day")
    return replace(
        policy,
        optout_keywords=check_keywords("optout_keywords", policy.optout_keywords),
        optin_keywords=check_keywords("optin_keywords", policy.optin_keywords),
        optout_reply=check_reply("optout_reply", policy.optout_reply),
        optin_reply=check_reply("optin_reply", policy.optin_reply),
        missed_call_reply=check_reply("missed_call_reply", policy.missed_call_reply),
        default_validity=check_range(
            "default_validity", policy.default_validity, MIN_VALIDITY, MAX_VALIDITY
        ),
        hourly_cap=check_range("hourly_cap", policy.hourly_cap, 1, MAX_CAP),
        daily_cap=check_range("daily_cap", policy.daily_cap, 1, MAX_CAP),
        missed_call_period=period if period is not None else DEFAULT.missed_call_period,
    )


def windows_json(windows: tuple[Window, ...]) -> str:
    return json.dumps([w.as_json() for w in windows], separators=(",", ":"))


def windows_from_json(text: str) -> tuple[Window, ...]:
    return tuple(
        Window(frozenset(item["days"]), _time(item["start"], "start"), _time(item["end"], "end"))
        for item in json.loads(text or "[]")
    )


def keywords_json(words: tuple[str, ...] | None) -> str | None:
    return None if words is None else json.dumps(list(words), ensure_ascii=False)


def keywords_from_json(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(json.loads(text))
