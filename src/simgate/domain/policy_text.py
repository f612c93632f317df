"""The sending policy as people type it (the dashboard's form, `simgate policy
set`): text → settings, settings → text. Pure, no I/O.

Empty means "none": no cap, no default validity, the default keyword lists,
the default missed-call period.
Each value is checked here for its form (a whole number, a window); the
bounds are domain/policy.checked's, applied when the settings are saved.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from simgate.domain.policy import AccountPolicy, PolicyError, parse_windows, windows_text

# Settings typed as text, and the kind of each.
NUMBERS = ("default_validity", "hourly_cap", "daily_cap", "missed_call_period")
KEYWORDS = ("optout_keywords", "optin_keywords")
TEXTS = ("optout_reply", "optin_reply", "missed_call_reply")
SWITCHES = ("optout_enabled", "skip_holidays", "window_for_api", "window_for_campaigns")
MAX_FIELD = 4000  # characters of one typed value (14 windows, 50 keywords fit)


def whole_number(name: str, text: str) -> int | None:
    """ "3600" → 3600 ("10 000" and "10_000" too); "" → None."""
    cleaned = re.sub(r"[\s_]", "", text)
    if not cleaned:
        return None
    if not cleaned.isascii() or not cleaned.isdigit() or len(cleaned) > 12:
        raise PolicyError(name, f"{text.strip()[:20]!r} is not a whole number")
    return int(cleaned)


def keyword_list(text: str) -> tuple[str, ...] | None:
    """Keywords separated by commas or lines; "" → None (the default list)."""
    words = tuple(w.strip() for w in re.split(r"[,\n]", text) if w.strip())
    return words or None


def keywords_text(words: tuple[str, ...] | None) -> str:
    return ", ".join(words) if words else ""


def parse_typed(name: str, text: str) -> Any:
    """One setting typed as text → its value; raises PolicyError."""
    if len(text) > MAX_FIELD or "\x00" in text:
        raise PolicyError(name, f"at most {MAX_FIELD} characters")
    if name == "windows":
        return parse_windows(text)
    if name in NUMBERS:  # empty missed_call_period: its default (domain/policy.checked)
        return whole_number(name, text)
    if name in KEYWORDS:
        return keyword_list(text)
    if name in TEXTS:
        return text
    raise PolicyError(name, "not a setting typed as text")


def parse_form(
    typed: Mapping[str, str], switches: Mapping[str, bool]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings of a whole form: (changes, errors by setting)."""
    changes: dict[str, Any] = dict(switches)
    errors: dict[str, str] = {}
    for name, text in typed.items():
        try:
            changes[name] = parse_typed(name, text)
        except PolicyError as exc:
            errors[exc.field] = exc.reason
    return changes, errors


def as_text(policy: AccountPolicy) -> dict[str, str]:
    """Every typed setting of `policy` as the form shows it."""
    shown: dict[str, str] = {"windows": windows_text(policy.windows)}
    for name in NUMBERS:
        value = getattr(policy, name)
        shown[name] = "" if value is None else str(value)
    for name in KEYWORDS:
        shown[name] = keywords_text(getattr(policy, name))
    for name in TEXTS:
        shown[name] = getattr(policy, name)
    return shown
