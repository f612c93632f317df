"""Opaque keyset cursors for v2 lists (DESIGN section 9).

A cursor carries the sort key of the last item shown (for example its time
and id); the next page starts after it, so rows inserted meanwhile neither
repeat nor shift the pages. It is base64url of a small JSON array: opaque to
clients, and nothing in it is trusted beyond its type.
"""

from __future__ import annotations

import base64
import binascii
import json
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
