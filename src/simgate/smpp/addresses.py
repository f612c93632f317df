"""Source and destination addresses with the TON/NPI an SMSC expects (smpp.md §2, §10).

The usual refusals come from a `+` in a number (ESME_RINVDSTADR), an
alphanumeric sender longer than 11 characters, or a TON/NPI that does not fit
the address; these functions produce the table's forms or say why not.
"""

from __future__ import annotations

from dataclasses import dataclass

from simgate.domain.sms import GSM7_BASIC

TON_UNKNOWN, TON_INTERNATIONAL, TON_NATIONAL, TON_NETWORK, TON_ALPHANUMERIC = 0, 1, 2, 3, 5
NPI_UNKNOWN, NPI_ISDN = 0, 1

MAX_ADDRESS = 20  # octets of an address, without its NUL (smpp.md §2)
MAX_ALPHANUMERIC = 11  # GSM TP-OA holds 11 septets
# Printable ASCII that is one septet of the GSM default alphabet: what an
# alphanumeric sender survives the SMSC and the handset with.
_ALPHANUMERIC_CHARS = frozenset(char for char in GSM7_BASIC if " " <= char <= "~")


@dataclass(frozen=True, slots=True)
class Address:
    ton: int
    npi: int
    addr: str


def source(value: str, *, ton: int | None = None, npi: int | None = None) -> Address:
    """The source address for a sender as configured, TON/NPI guessed from its form.

    "+491701234567" (7-15 digits after "+", or after "00") → 1/1 digits only;
    9-15 bare digits → 1/1, or 2/1 (national) when they start with one "0";
    3-8 bare digits → short code 3/0; anything with a letter → alphanumeric
    5/0, at most 11 printable GSM-7 characters. `ton`/`npi` override the
    guess; with both given, an address the guess refuses is sent as written
    (without a leading "+") if it has at most 20 printable ASCII characters.
    A "+" left in the address is refused unless the TON is alphanumeric.
    ValueError says what is wrong otherwise.
    """
    text = value.strip()
    try:
        guess = _guess(text)
    except ValueError:
        if ton is None or npi is None:
            raise
        addr = text.removeprefix("+")
        if not addr or len(addr) > MAX_ADDRESS or not addr.isascii() or not addr.isprintable():
            raise ValueError(
                f"source address {value!r} must be 1-{MAX_ADDRESS} printable ASCII characters"
            ) from None
        guess = Address(ton, npi, addr)
    address = Address(
        guess.ton if ton is None else ton, guess.npi if npi is None else npi, guess.addr
    )
    if "+" in address.addr and address.ton != TON_ALPHANUMERIC:
        # An SMSC refuses a "+" in a number (ESME_RINVSRCADR), smpp.md §10.
        raise ValueError(f"source address {value!r} has a '+', which only a name may have")
    return address


def _guess(text: str) -> Address:
    if not text:
        raise ValueError("the source address is empty")
    digits = text[1:] if text.startswith("+") else text[2:] if text.startswith("00") else ""
    if _is_digits(digits):
        if not 7 <= len(digits) <= 15:
            raise ValueError(f"international number {text!r} must have 7-15 digits")
        return Address(TON_INTERNATIONAL, NPI_ISDN, digits)
    if _is_digits(text):
        if 3 <= len(text) <= 8:
            return Address(TON_NETWORK, NPI_UNKNOWN, text)
        if 9 <= len(text) <= 15:
            national = text.startswith("0")
            return Address(TON_NATIONAL if national else TON_INTERNATIONAL, NPI_ISDN, text)
        raise ValueError(
            f"numeric sender {text!r} must be a 3-8 digit short code or a 9-15 digit number"
        )
    if len(text) > MAX_ALPHANUMERIC:
        raise ValueError(
            f"alphanumeric sender {text!r} has {len(text)} characters, at most "
            f"{MAX_ALPHANUMERIC} reach the handset"
        )
    bad = sorted(set(text) - _ALPHANUMERIC_CHARS)
    if bad:
        raise ValueError(
            f"alphanumeric sender {text!r} has characters SMSCs do not pass on: {''.join(bad)!r}"
        )
    return Address(TON_ALPHANUMERIC, NPI_UNKNOWN, text)


def destination(e164: str) -> Address:
    """1/1 with the digits of an E.164 number, "+" dropped (smpp.md §10 pitfall 1)."""
    digits = e164.removeprefix("+")
    if not _is_digits(digits):
        raise ValueError(f"destination {e164!r} must be digits, optionally after a '+'")
    if len(digits) > MAX_ADDRESS:
        raise ValueError(f"destination {e164!r} is longer than {MAX_ADDRESS} digits")
    return Address(TON_INTERNATIONAL, NPI_ISDN, digits)


def _is_digits(text: str) -> bool:
    # str.isdigit would also take "²" or Arabic-Indic digits.
    return bool(text) and text.isascii() and text.isdigit()
