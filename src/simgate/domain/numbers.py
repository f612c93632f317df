"""Phone numbers: parse what clients send into E.164."""

from __future__ import annotations

import phonenumbers


class InvalidNumber(ValueError):
    pass


def to_e164(raw: str, default_region: str | None) -> str:
    """Normalise `raw` to E.164; a number without `+` is read in `default_region`.

    Raises InvalidNumber when it is not a possible, valid number.
    """
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(str(exc)) from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber("not a valid number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_valid_region(region: str) -> bool:
    return region.upper() in phonenumbers.SUPPORTED_REGIONS


def spellings(e164: str) -> list[str]:
    """The ways a phone may have reported `e164` (devices report numbers as
    their radio shows them): E.164, without `+`, with `00`, and national with
    its trunk prefix. For matching stored reports with an index (`IN`)."""
    parsed = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    digits = "".join(ch for ch in national if ch.isdigit())
    forms = [e164, e164[1:], "00" + e164[1:], digits]
    return list(dict.fromkeys(form for form in forms if form))
