"""Tracked-link placeholders in message text.

The reference documents `[Lien_Tracking]`; the official Node.js module sends
`[link]`. Both are replaced by the message's own short link. A `url` with no
placeholder is appended after a space; a placeholder with no `url` is removed.
"""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"\[(?:Lien_Tracking|link)\]", re.IGNORECASE)
# A placeholder with the blanks around it, so that removing it leaves one
# blank between words and none at the edge of a line.
_WITH_BLANKS = re.compile(r"[ \t]*\[(?:Lien_Tracking|link)\][ \t]*", re.IGNORECASE)


def has_placeholder(text: str) -> bool:
    return PLACEHOLDER.search(text) is not None


def _drop(match: re.Match[str]) -> str:
    text = match.string
    at_start = match.start() == 0 or text[match.start() - 1] == "\n"
    at_end = match.end() == len(text) or text[match.end()] in "\r\n"
    blanks = match.group() != match.group().strip(" \t")
    return "" if at_start or at_end or not blanks else " "


def render(text: str, short_link: str | None) -> str:
    if short_link is None:
        return _WITH_BLANKS.sub(_drop, text) if has_placeholder(text) else text
    if has_placeholder(text):
        return PLACEHOLDER.sub(lambda _m: short_link, text)
    return f"{text} {short_link}"
