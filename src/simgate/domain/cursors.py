"""Opaque keyset cursors for v2 lists (DESIGN section 9) and the dashboard's
"newer"/"older" page links.

A cursor carries the sort key of the last item shown (for example its time
and id); the next page starts after it, so rows inserted meanwhile neither
repeat nor shift the pages. It is base64url of a small JSON array: opaque to
clients, and nothing in it is trusted beyond its type.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

MAX_CURSOR_LENGTH = 512


class InvalidCursor(ValueError):
    pass


def encode(*values: str | int | float | None) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, size: int) -> list[Any]:
    """The `size` values `encode` put in `cursor`; InvalidCursor otherwise."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursor("cursor is too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidCursor("not a cursor this server gave") from None
    if not isinstance(values, list) or len(values) != size:
        raise InvalidCursor("not a cursor this server gave")
    if not all(_plain(v) for v in values):
        raise InvalidCursor("not a cursor this server gave")
    return values


def _plain(value: Any) -> bool:
    return value is None or (isinstance(value, str | int | float) and not isinstance(value, bool))


# --- Dashboard page links -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageLink:
    """Where a dashboard list page starts: the rows just past `key` (the sort
    key of the row that ended the page it was made on), in the list's order,
    or against it when `back` (the "newer" link). `number` is only shown."""

    number: int
    back: bool
    key: tuple[str | int, ...]


MAX_PAGE_NUMBER = 10**9


def page_link(number: int, back: bool, key: tuple[str | int, ...]) -> str:
    return encode(min(max(number, 1), MAX_PAGE_NUMBER), 1 if back else 0, *key)


def read_page_link(raw: str, key_size: int) -> PageLink | None:
    """The link `page_link` made with a key of `key_size` values; None for
    anything else (an empty or old-style `page=2` link: the first page)."""
    if not raw:
        return None
    try:
        number, back, *key = decode(raw, key_size + 2)
    except InvalidCursor:
        return None
    if not (_whole(number) and 1 <= number <= MAX_PAGE_NUMBER and back in (0, 1)):
        return None
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in key):
        return None
    return PageLink(number, back == 1, tuple(key))


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
