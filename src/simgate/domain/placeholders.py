"""Tracked-link placeholders in message text.

The reference documents `[Lien_Tracking]`; the official Node.js module sends
`[link]`. Both are replaced by the message's own short link. A `url` with no
placeholder is appended after a space; a placeholder with no `url` is removed.
"""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"\[(?:Lien_Tracking|link)\]", re.IGNORECASE)


def has_placeholder(text: str) -> bool:
    return PLACEHOLDER.search(text) is not None


def render(text: str, short_link: str | None) -> str:
    if short_link is None:
        # Drop the placeholder and the blank it leaves behind.
        return re.sub(r"[ \t]{2,}", " ", PLACEHOLDER.sub("", text)).strip()
    if has_placeholder(text):
        return PLACEHOLDER.sub(lambda _m: short_link, text)
    return f"{text} {short_link}"
