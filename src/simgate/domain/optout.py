"""Opt-out (STOP) keywords: is an incoming text an opt-out or an opt-in?
Pure, no I/O (docs/policy.md, "Opt-out (STOP)").

A text matches when the WHOLE of it, folded, equals a folded keyword: case,
accents, spaces and punctuation do not count ("  Stop!! ", "ARRÊT",
"stop sms", "Opt-Out." all match), while a keyword inside a sentence
("please don't stop") does not: people write sentences to talk, and a
gateway must not unsubscribe them for it.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Literal

# The documented defaults; an account's own list replaces them.
DEFAULT_OPTOUT: tuple[str, ...] = (
    "STOP",
    "STOP SMS",
    "STOPALL",
    "ARRET",
    "ARRÊT",
    "UNSUBSCRIBE",
    "DESABONNER",
    "DÉSABONNER",
    "END",
    "QUIT",
    "CANCEL",
    "OPT OUT",
    "OPTOUT",
    "REVOKE",
)
# Never a common word (YES, OK): a reply to a conversation must not opt in.
DEFAULT_OPTIN: tuple[str, ...] = (
    "START",
    "UNSTOP",
    "ARRET STOP",
    "ARRÊT STOP",
    "SUBSCRIBE",
    "OPT IN",
    "OPTIN",
    "RESUME",
)

# Longer texts are never keywords; folding them would only cost time.
MAX_KEYWORD_TEXT = 160

Match = Literal["optout", "optin"]


def fold(text: str) -> str:
    """`text` without case, accents, spaces or punctuation: letters and digits only."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


@lru_cache(maxsize=256)
def folded(words: tuple[str, ...]) -> frozenset[str]:
    """A keyword list folded once (lists are tuples, so they cache)."""
    return frozenset(f for f in (fold(w) for w in words) if f)


def match(
    text: str,
    optout_words: tuple[str, ...] | None = None,
    optin_words: tuple[str, ...] | None = None,
) -> Match | None:
    """ "optout", "optin" or None for an incoming `text`; None lists are the defaults.

    A word on both lists counts as an opt-out: when in doubt, stop sending."""
    if len(text) > MAX_KEYWORD_TEXT:
        return None
    key = fold(text)
    if not key:
        return None
    if key in folded(DEFAULT_OPTOUT if optout_words is None else optout_words):
        return "optout"
    if key in folded(DEFAULT_OPTIN if optin_words is None else optin_words):
        return "optin"
    return None
