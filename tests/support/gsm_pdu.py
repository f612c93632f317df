"""Just enough of the GSM SMS PDU format (3GPP TS 23.040 section 9.2, GSM 03.38
alphabets) for the fake AT modem: decode the SMS-SUBMIT a phone driver hands
to the modem, encode the SMS-DELIVER and SMS-STATUS-REPORT a modem stores.

Written from the standard and from the captured PDU in
shared/reference/gammu.md section 7.2, not from any driver's code: it is the
test's independent view of what goes over the wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# GSM 03.38 default alphabet; "\x1b" is the escape to the extension table.
BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[",
             0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "€"}
_EXTENSION_CODES = {char: code for code, char in EXTENSION.items()}


def gsm7_septets(text: str) -> list[int] | None:
    """The septets of `text` in the default alphabet, or None if it needs UCS-2."""
    septets: list[int] = []
    for char in text:
        if char in _EXTENSION_CODES:
            septets += [0x1B, _EXTENSION_CODES[char]]
        elif char != "\x1b" and char in BASIC:
            septets.append(BASIC.index(char))
        else:
            return None
    return septets


def septets_text(septets: list[int]) -> str:
    out, escaped = [], False
    for septet in septets:
        if escaped:
            out.append(EXTENSION.get(septet, " "))
            escaped = False
        elif septet == 0x1B:
            escaped = True
        else:
            out.append(BASIC[septet])
    return "".join(out)


def pack(septets: list[int], fill_bits: int = 0) -> bytes:
    bits, count, out = 0, fill_bits, bytearray()
    for septet in septets:
        bits |= septet << count
        count += 7
        while count >= 8:
            out.append(bits & 0xFF)
            bits >>= 8
            count -= 8
    if count:
        out.append(bits & 0xFF)
    return bytes(out)


def unpack(data: bytes, count: int, fill_bits: int = 0) -> list[int]:
    value = int.from_bytes(data, "little") >> fill_bits
    return [(value >> (7 * i)) & 0x7F for i in range(count)]


def _semi_octets(digits: str) -> bytes:
    if len(digits) % 2:
        digits += "F"
    return bytes(int(digits[i + 1] + digits[i], 16) for i in range(0, len(digits), 2))


def _digits(data: bytes, count: int) -> str:
    text = "".join(f"{b & 0x0F:X}{b >> 4:X}" for b in data)
    return text[:count]


def encode_address(number: str) -> bytes:
    """TP-address: digit count, type (0x91 international, 0x81 unknown), digits."""
    international = number.startswith("+")
    digits = number.lstrip("+")
    return bytes([len(digits), 0x91 if international else 0x81]) + _semi_octets(digits)


def decode_address(data: bytes, at: int) -> tuple[str, int]:
    """(number, next offset) of the TP-address at `at`."""
    count, kind = data[at], data[at + 1]
    size = (count + 1) // 2
    raw = data[at + 2 : at + 2 + size]
    if kind & 0x70 == 0x50:  # alphanumeric, GSM 7-bit packed
        text = septets_text(unpack(raw, count * 4 // 7))
        return text, at + 2 + size
    digits = _digits(raw, count)
    return ("+" if kind & 0x70 == 0x10 else "") + digits, at + 2 + size


def encode_smsc(number: str) -> bytes:
    digits = number.lstrip("+")
    body = bytes([0x91]) + _semi_octets(digits)
    return bytes([len(body)]) + body


def encode_timestamp(moment: datetime) -> bytes:
    """TP-SCTS: semi-octet swapped local time and its offset in quarter hours."""
    offset = moment.utcoffset() or timedelta(0)
    quarters = int(offset.total_seconds() // 900)
    fields = [moment.year % 100, moment.month, moment.day, moment.hour, moment.minute,
              moment.second]
    out = bytearray(int(f"{v % 10}{v // 10}", 16) for v in fields)
    zone = int(f"{abs(quarters) % 10}{abs(quarters) // 10}", 16)
    out.append(zone | (0x08 if quarters < 0 else 0))
    return bytes(out)


@dataclass(frozen=True)
class Submit:
    """What a driver asked the modem to send (one SMS-SUBMIT)."""

    number: str
    text: str
    reference: int  # TP-MR as the driver set it (the modem assigns its own)
    status_report: bool  # TP-SRR: a delivery report was requested
    coding: str  # "gsm7", "ucs2" or "8bit"
    concat: tuple[int, int, int] | None  # (reference, parts, part number) from the UDH
    smsc: str


def decode_submit(pdu_hex: str) -> Submit:
    """An SMS-SUBMIT as written after AT+CMGS in PDU mode (SMSC part first)."""
    data = bytes.fromhex(pdu_hex)
    smsc_len = data[0]
    smsc = "+" + _digits(data[2 : 1 + smsc_len], 2 * (smsc_len - 1)).rstrip("F") if smsc_len else ""
    at = 1 + smsc_len
    first = data[at]
    if first & 0x03 != 0x01:
        raise ValueError(f"not an SMS-SUBMIT: first octet {first:02X}")
    reference = data[at + 1]
    number, at = decode_address(data, at + 2)
    dcs = data[at + 1]
    at += 2
    validity = (first >> 3) & 0x03
    at += {0: 0, 2: 1, 1: 7, 3: 7}[validity]
    udl = data[at]
    ud = data[at + 1 :]
    coding = _coding(dcs)
    header, concat = b"", None
    if first & 0x40:
        header = ud[: ud[0] + 1]
        concat = _concat(header)
    if coding == "gsm7":
        header_septets = (len(header) * 8 + 6) // 7
        fill = header_septets * 7 - len(header) * 8
        septets = unpack(ud[len(header) :], udl - header_septets, fill)
        text = septets_text(septets)
    elif coding == "ucs2":
        text = ud[len(header) : udl].decode("utf-16-be")
    else:
        text = ud[len(header) : udl].hex()
    return Submit(number, text, reference, bool(first & 0x20), coding, concat, smsc)


def _coding(dcs: int) -> str:
    if dcs & 0xF0 == 0xF0:
        return "8bit" if dcs & 0x04 else "gsm7"
    if dcs & 0xC0 == 0x00:
        return {0: "gsm7", 1: "8bit", 2: "ucs2"}.get((dcs >> 2) & 0x03, "8bit")
    return "gsm7"


def _concat(header: bytes) -> tuple[int, int, int] | None:
    at = 1
    while at < len(header):
        iei, size = header[at], header[at + 1]
        value = header[at + 2 : at + 2 + size]
        if iei == 0x00:
            return value[0], value[1], value[2]
        if iei == 0x08:
            return value[0] * 256 + value[1], value[2], value[3]
        at += 2 + size
    return None


def encode_deliver(
    sender: str,
    text: str,
    at: datetime,
    smsc: str = "+15550000000",
    ucs2: bool | None = None,
    concat: tuple[int, int, int] | None = None,
) -> str:
    """An SMS-DELIVER as a modem stores it (SMSC part first), in hex.

    GSM 7-bit when the text allows it, unless `ucs2` says otherwise; `concat`
    is (reference, parts, part number) for one part of a long message."""
    septets = None if ucs2 else gsm7_septets(text)
    header = b""
    if concat:
        header = bytes([5, 0x00, 3, *concat])
    first = 0x04 | (0x40 if header else 0)
    if septets is not None:
        dcs = 0x00
        header_septets = (len(header) * 8 + 6) // 7
        fill = header_septets * 7 - len(header) * 8
        udl = header_septets + len(septets)
        ud = header + pack(septets, fill)
    else:
        dcs = 0x08
        body = text.encode("utf-16-be")
        udl = len(header) + len(body)
        ud = header + body
    tpdu = (
        bytes([first]) + encode_address(sender) + bytes([0x00, dcs]) + encode_timestamp(at)
        + bytes([udl]) + ud
    )
    return (encode_smsc(smsc) + tpdu).hex().upper()


def encode_status_report(
    reference: int,
    recipient: str,
    status: int,
    sent_at: datetime,
    done_at: datetime,
    smsc: str = "+15550000000",
) -> str:
    """An SMS-STATUS-REPORT (TP-ST `status`: 0x00 delivered, 0x20.. still trying,
    0x40.. failed for good) for the message whose TP-MR was `reference`."""
    tpdu = (
        bytes([0x06, reference]) + encode_address(recipient) + encode_timestamp(sent_at)
        + encode_timestamp(done_at) + bytes([status])
    )
    return (encode_smsc(smsc) + tpdu).hex().upper()


def tpdu_length(pdu_hex: str) -> int:
    """Octets after the SMSC part: what +CMGL and +CMGR announce."""
    data = bytes.fromhex(pdu_hex)
    return len(data) - 1 - data[0]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
