"""What a number typed in a list's filter searches for.

A whole number, in any usual form (E.164, 00-international, national in the
account's country), is an exact match: the store reads it off the account +
number index. Anything else (a part of a number) matches the messages whose
number holds its digits, which no index can serve, so the store bounds how
many rows one page looks through (docs/dashboard.md, "Lists").
"""

from __future__ import annotations

from dataclasses import dataclass

from simgate.domain.numbers import InvalidNumber, to_e164


@dataclass(frozen=True, slots=True)
class NumberSearch:
    exact: str | None = None  # a whole number, E.164
    digits: str = ""  # otherwise: digits a number must hold ("" = any number)


ANY_NUMBER = NumberSearch()


def number_search(typed: str, region: str | None) -> NumberSearch:
    # Match what people type: "06 12 34", "+33 6 12", "0033612": national and
    # international prefixes start with zeros, E.164 numbers never do.
    digits = "".join(ch for ch in typed if ch.isdigit()).lstrip("0")
    if not digits:
        return ANY_NUMBER
    try:
        return NumberSearch(exact=to_e164(typed, region))
    except InvalidNumber:
        return NumberSearch(digits=digits)
