"""SMS encoding and segment counting by GSM 03.38 rules.

A message that uses only the GSM-7 default alphabet (plus the extension table,
whose characters cost two septets: escape + character) fits 160 septets in one
part and 153 per part once split (the user data header takes 7). Anything else
goes as UCS-2: 70 UTF-16 code units in one part, 67 per part. A part boundary
never falls inside an escape sequence or a surrogate pair, so those cost a
little more than plain division suggests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# The default alphabet in code order: the character at index n is septet n
# (0x1B is the escape to the extension table).
GSM7_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each character is sent as 0x1B followed by its code.
GSM7_EXTENSION_CODES = {
    "\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F,
    "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65,
}
GSM7_BASIC = frozenset(GSM7_BASIC_TABLE)
GSM7_EXTENSION = frozenset(GSM7_EXTENSION_CODES)
# What a client may write in GSM-7 text: the escape itself is not a character.
GSM7_TEXT = (GSM7_BASIC - {"\x1b"}) | GSM7_EXTENSION

# An ASCII character that is not one septet of the basic table: the
# extension table's (two septets), and what GSM-7 lacks (controls other than
# line breaks, the escape itself, the backtick, DEL).
_NOT_PLAIN_ASCII = re.compile(r"[^\n\r -Z_a-z]")

Encoding = Literal["GSM-7", "UCS-2"]

MAX_PARTS = 255  # the concatenation header counts the parts in one octet
# No longer text fits in MAX_PARTS parts in either encoding (GSM-7: 153 septets a part).
MAX_TEXT = MAX_PARTS * 153  # 39,015


@dataclass(frozen=True, slots=True)
class Segments:
    encoding: Encoding
    parts: int
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2


def _count_parts(costs: list[int], multi: int) -> int:
    # Greedy packing: an item costing 2 (escape sequence, surrogate pair)
    # that does not fit whole in the current part starts the next one.
    parts, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            parts += 1
            used = 0
        used += cost
    return parts


def _segments(encoding: Encoding, text: str, doubles: frozenset[str] | None) -> Segments:
    single, multi = (160, 153) if encoding == "GSM-7" else (70, 67)
    if doubles is None:
        units = len(text)
    else:
        units = len(text) + sum(text.count(char) for char in doubles)
    if units <= single:
        return Segments(encoding, 1, units)
    if doubles is None:
        return Segments(encoding, -(-units // multi), units)
    costs = [2 if char in doubles else 1 for char in text]
    return Segments(encoding, _count_parts(costs, multi), units)


def count_segments(text: str) -> Segments:
    """How many SMS parts `text` takes, and in which encoding."""
    if text.isascii() and _NOT_PLAIN_ASCII.search(text) is None:
        # Most texts: one septet per character, no set built (a third of the cost).
        units = len(text)
        return Segments("GSM-7", 1 if units <= 160 else -(-units // 153), units)
    chars = frozenset(text)
    if chars <= GSM7_TEXT:
        return _segments("GSM-7", text, (chars & GSM7_EXTENSION) or None)
    # Characters outside the BMP are a surrogate pair in UTF-16: two units
    # that must travel in the same part.
    astral = frozenset(char for char in chars if ord(char) > 0xFFFF)
    return _segments("UCS-2", text, astral or None)
