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
