"""SMS encoding and segment counting by GSM 03.38 rules.

A message that uses only the GSM-7 default alphabet (plus the extension table,
whose characters cost two septets: escape + character) fits 160 septets in one
part and 153 per part once split (the user data header takes 7). Anything else
goes as UCS-2: 70 UTF-16 code units in one part, 67 per part. A part boundary
never falls inside an escape sequence or a surrogate pair, so those cost a
little more than plain division suggests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True, slots=True)
class Segments:
    encoding: Encoding
    parts: int
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2


def _gsm7_costs(text: str) -> list[int] | None:
    costs = []
    for char in text:
        if char in GSM7_BASIC and char != "\x1b":
            costs.append(1)
        elif char in GSM7_EXTENSION:
            costs.append(2)
        else:
            return None
    return costs


def _ucs2_costs(text: str) -> list[int]:
    # Characters outside the BMP are a surrogate pair: two code units that
    # must travel in the same part.
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def _count_parts(costs: list[int], single: int, multi: int) -> tuple[int, int]:
    total = sum(costs)
    if total <= single:
        return 1, total
    parts, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            parts += 1
            used = 0
        used += cost
    return parts, total


def count_segments(text: str) -> Segments:
    """How many SMS parts `text` takes, and in which encoding."""
    gsm = _gsm7_costs(text)
    if gsm is not None:
        parts, units = _count_parts(gsm, 160, 153)
        return Segments("GSM-7", parts, units)
    parts, units = _count_parts(_ucs2_costs(text), 70, 67)
    return Segments("UCS-2", parts, units)
