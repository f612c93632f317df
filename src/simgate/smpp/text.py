"""Text to submit_sm parts and back: GSM-7 or UCS-2, split without breaking a character.

smpp.md §3: a message goes as GSM-7 (unpacked, one septet per octet) when
every character is in the default alphabet or its extension table, else as
UCS-2 (UTF-16BE) for the whole message. One that does not fit one SMS is
split so that an escape sequence (`1B xx`) or a surrogate pair never
straddles two parts, by one of three mechanisms: a concatenation UDH (8- or
16-bit reference), SAR TLVs, or the whole text in `message_payload`. The
septet table and the alphabet sets come from `simgate.domain.sms`, whose
`count_segments` agrees with the UDH 8-bit split part for part.

Sizes below are in octets of `short_message` without the UDH. For GSM-7 one
octet is one septet, so 153 unpacked septets plus the 6-octet UDH make 159
octets on SMPP and 140 once the SMSC packs them for the air.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from simgate.domain.sms import GSM7_BASIC_TABLE, GSM7_EXTENSION_CODES, GSM7_TEXT, MAX_PARTS

Concat = Literal["udh8", "udh16", "sar", "payload"]
Dc0 = Literal["gsm7", "latin1", "ascii"]  # what data_coding 0 means to the SMSC (smpp.md §3)

UDHI = 0x40  # esm_class bit: short_message starts with a user data header
DC_DEFAULT = 0
DC_UCS2 = 8

_ESCAPE = 0x1B
_HIGH_SURROGATE = range(0xD8, 0xDC)  # first octet of a UTF-16 high surrogate

# What each encoding fits, in octets: (one SMS, a part after an 8-bit-reference
# UDH or with SAR TLVs, a part after a 16-bit-reference UDH). smpp.md §3.
_Kind = Literal["gsm7", "ucs2", "octets"]
_CAPACITY: dict[_Kind, tuple[int, int, int]] = {
    "gsm7": (160, 153, 152),
    "ucs2": (140, 134, 132),  # 70 / 67 / 66 UTF-16 units
    "octets": (140, 134, 133),  # Latin-1 or ASCII sent as data_coding 0
}

# str.translate tables between text and unpacked septets (as Latin-1 code points).
_TO_SEPTETS: dict[int, str] = {
    ord(char): chr(code) for code, char in enumerate(GSM7_BASIC_TABLE) if code != _ESCAPE
}
_TO_SEPTETS.update(
    {ord(char): chr(_ESCAPE) + chr(code) for char, code in GSM7_EXTENSION_CODES.items()}
)
_FROM_SEPTETS: dict[int, str] = {code: char for code, char in enumerate(GSM7_BASIC_TABLE)}
_FROM_SEPTETS.update({code: "?" for code in range(0x80, 0x100)})
_FROM_EXTENSION: dict[int, str] = {code: char for char, code in GSM7_EXTENSION_CODES.items()}


@dataclass(frozen=True, slots=True)
class Part:
    """One submit_sm's worth of a message: the fields that differ per part."""

    short_message: bytes  # UDH included for udh8/udh16; b"" for payload
    esm_class: int  # 0x00, or 0x40 (UDHI) for udh parts
    data_coding: int  # 0 (per the link's dc0) or 8 (UCS-2)
    tlvs: dict[str, int | bytes]  # smpplib optional-parameter names


@dataclass(frozen=True, slots=True)
class Concatenation:
    """Where one part sits in a long message (from a UDH or SAR TLVs)."""

    ref: int
    total: int
    seq: int  # 1-based


def encode_parts(text: str, *, concat: Concat = "udh8", ref: int, dc0: Dc0 = "gsm7") -> list[Part]:
    """The submit_sm parts for `text`, in order.

    A text that fits one SMS (160 septets, 70 UCS-2 units, or 140 octets) is a
    single part without UDH or TLVs whatever `concat` says. `ref` is the
    concatenation reference: 0-255 for udh8, 0-65535 for udh16 and sar.
    ValueError for a reference out of range, a text needing more than 255
    parts, or one holding a lone surrogate (not encodable in UTF-16).
    """
    _check_ref(concat, ref)
    kind, data_coding, data = _encode(text, dc0)
    single, multi, multi16 = _CAPACITY[kind]
    if len(data) <= single:
        return [Part(data, 0x00, data_coding, {})]
    chunks = _split(data, multi16 if concat == "udh16" else multi, kind)
    total = len(chunks)
    if total > MAX_PARTS:
        raise ValueError(f"text needs {total} parts, more than {MAX_PARTS}")
    if concat == "payload":
        # smpp.md §3: sm_length 0 and everything in the TLV; the SMSC segments it.
        return [Part(b"", 0x00, data_coding, {"message_payload": data})]
    parts: list[Part] = []
    for seq, chunk in enumerate(chunks, start=1):
        if concat == "udh8":
            udh = bytes((0x05, 0x00, 0x03, ref, total, seq))
            parts.append(Part(udh + chunk, UDHI, data_coding, {}))
        elif concat == "udh16":
            udh = bytes((0x06, 0x08, 0x04, ref >> 8, ref & 0xFF, total, seq))
            parts.append(Part(udh + chunk, UDHI, data_coding, {}))
        else:
            tlvs: dict[str, int | bytes] = {
                "sar_msg_ref_num": ref,
                "sar_total_segments": total,
                "sar_segment_seqnum": seq,
            }
            parts.append(Part(chunk, 0x00, data_coding, tlvs))
    return parts


def _check_ref(concat: Concat, ref: int) -> None:
    if concat == "payload":
        return  # no reference travels
    limit = 0xFF if concat == "udh8" else 0xFFFF
    if not 0 <= ref <= limit:
        raise ValueError(f"concatenation reference {ref} outside 0-{limit} for {concat}")


def _encode(text: str, dc0: Dc0) -> tuple[_Kind, int, bytes]:
    if dc0 == "gsm7":
        if frozenset(text) <= GSM7_TEXT:
            return "gsm7", DC_DEFAULT, text.translate(_TO_SEPTETS).encode("latin-1")
    elif dc0 == "ascii":
        if text.isascii():
            return "octets", DC_DEFAULT, text.encode("ascii")
    else:
        try:
            return "octets", DC_DEFAULT, text.encode("latin-1")
        except UnicodeEncodeError:
            pass
    return "ucs2", DC_UCS2, text.encode("utf-16-be")


def _split(data: bytes, size: int, kind: _Kind) -> list[bytes]:
    # Greedy, like sms.count_segments: a two-septet escape sequence or a
    # four-octet surrogate pair that does not fit whole starts the next part.
    # 0x1B never follows an escape in what _encode makes, so an octet 0x1B at
    # the end of a chunk is always an escape cut from its code.
    chunks: list[bytes] = []
    start, length = 0, len(data)
    while start < length:
        end = start + size
        if end < length:
            if kind == "gsm7" and data[end - 1] == _ESCAPE:
                end -= 1
            elif kind == "ucs2" and data[end - 2] in _HIGH_SURROGATE:
                end -= 2
        chunks.append(data[start:end])
        start = end
    return chunks


def decode(short_message: bytes, data_coding: int, *, dc0: Dc0 = "gsm7") -> str:
    """The text of a short_message (after any UDH); never raises.

    data_coding 0 is read as `dc0` says (GSM-7 unpacked: an unknown septet or
    escape becomes "?"), 1 as ASCII, 3 as Latin-1, 6/7 as ISO-8859-5/-8, 8 as
    UTF-16BE (a lone surrogate or odd octet becomes U+FFFD), GSM data-coding
    groups (0x10-0x1F, 0x40-0x5F, 0xC0-0xFF) by their alphabet bits, and any
    other value (binary, compressed, reserved) as Latin-1.
    """
    alphabet = _alphabet(data_coding, dc0)
    if alphabet == "gsm7":
        return _decode_gsm7(short_message)
    if alphabet == "ucs2":
        return short_message.decode("utf-16-be", errors="replace")
    return short_message.decode(alphabet, errors="replace")


def _alphabet(data_coding: int, dc0: Dc0) -> str:
    if data_coding == 0:
        return {"gsm7": "gsm7", "latin1": "latin-1", "ascii": "ascii"}[dc0]
    smpp_values = {1: "ascii", 3: "latin-1", 6: "iso8859_5", 7: "iso8859_8", 8: "ucs2"}
    if data_coding in smpp_values:
        return smpp_values[data_coding]
    group = data_coding >> 4
    if group in (0x1, 0x4, 0x5):
        # General data coding, uncompressed (GSM 03.38 §4): alphabet in bits 3-2.
        return {0: "gsm7", 2: "ucs2"}.get((data_coding >> 2) & 0x3, "latin-1")
    if group in (0xC, 0xD):  # message waiting indication, default alphabet
        return "gsm7"
    if group == 0xE:  # message waiting indication, UCS-2
        return "ucs2"
    if group == 0xF:  # data coding/message class: bit 2 chooses 8-bit data over GSM-7
        return "latin-1" if data_coding & 0x04 else "gsm7"
    return "latin-1"


def _decode_gsm7(data: bytes) -> str:
    if _ESCAPE not in data:
        return data.decode("latin-1").translate(_FROM_SEPTETS)
    chars: list[str] = []
    index, length = 0, len(data)
    while index < length:
        octet = data[index]
        if octet == _ESCAPE:
            code = data[index + 1] if index + 1 < length else None
            chars.append("?" if code is None else _FROM_EXTENSION.get(code, "?"))
            index += 2
        else:
            chars.append(_FROM_SEPTETS.get(octet, "?"))
            index += 1
    return "".join(chars)


def split_udh(short_message: bytes, esm_class: int) -> tuple[Concatenation | None, bytes]:
    """The concatenation a UDH declares and the payload after the UDH.

    Only when `esm_class` has UDHI (0x40). Reads IE 0x00 (8-bit reference) and
    IE 0x08 (16-bit reference) and skips any other IE; a part numbered 0 or
    past its total carries no usable concatenation (GSM 03.40 says ignore it).
    A malformed UDH gives (None, short_message) unchanged; never raises.
    """
    if not esm_class & UDHI or not short_message:
        return None, short_message
    header_end = 1 + short_message[0]
    if header_end > len(short_message):
        return None, short_message
    concatenation: Concatenation | None = None
    index = 1
    while index < header_end:
        if index + 2 > header_end:
            return None, short_message
        iei, length = short_message[index], short_message[index + 1]
        if index + 2 + length > header_end:
            return None, short_message
        data = short_message[index + 2 : index + 2 + length]
        if concatenation is None:
            concatenation = _concatenation_ie(iei, data)
        index += 2 + length
    return concatenation, short_message[header_end:]


def _concatenation_ie(iei: int, data: bytes) -> Concatenation | None:
    if iei == 0x00 and len(data) == 3:
        ref, total, seq = data
    elif iei == 0x08 and len(data) == 4:
        ref, total, seq = (data[0] << 8) | data[1], data[2], data[3]
    else:
        return None
    return _concatenation(ref, total, seq)


def _concatenation(ref: int, total: int, seq: int) -> Concatenation | None:
    return Concatenation(ref, total, seq) if 1 <= seq <= total else None


def sar_concatenation(tlvs: Mapping[str, Any]) -> Concatenation | None:
    """The concatenation SAR TLVs declare (smpp.md §3, §6), or None when they
    are absent, not integers, or inconsistent; never raises."""
    values = [tlvs.get(name) for name in _SAR_NAMES]
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in values):
        return None
    ref, total, seq = values
    assert isinstance(ref, int) and isinstance(total, int) and isinstance(seq, int)
    if not (0 <= ref <= 0xFFFF and total <= 0xFF):
        return None
    return _concatenation(ref, total, seq)


_SAR_NAMES = ("sar_msg_ref_num", "sar_total_segments", "sar_segment_seqnum")
