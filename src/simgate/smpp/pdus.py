"""The four PDUs of every SMS, encoded and decoded by hand (smpp.md §1, §2).

smpplib builds a Command object per PDU, sets each of its ~45 fields through
`hasattr`/`setattr` and walks them all to write or read one: about 65 us for a
submit_sm and 90 us for a deliver_sm, a tenth of the agent's CPU per SMS under
a busy bind. These functions write and read the same bytes directly, for the
common shapes only; anything else (a field smpplib would cut or refuse, an
optional parameter they do not know, a body they cannot read exactly as
smpplib would) returns None and the caller uses smpplib, so that the meaning
of every PDU stays smpplib's. tests/smpp/test_pdus.py checks them byte for
byte against smpplib.

Pure: no I/O.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Deliver",
    "deliver_sm",
    "response",
    "submit_sm",
    "submit_sm_resp_id",
]

SUBMIT_SM = 0x00000004
SUBMIT_SM_RESP = 0x80000004
DELIVER_SM = 0x00000005
DELIVER_SM_RESP = 0x80000005

_HEADER = struct.Struct(">LLLL")
_TLV_HEADER = struct.Struct(">HH")

# submit_sm's C-string fields and smpplib's `max` for each (its size with the
# NUL): a longer value is cut by smpplib, so it is left to smpplib.
_SUBMIT_STRINGS = {
    "service_type": 6,
    "source_addr": 21,
    "destination_addr": 21,
    "schedule_delivery_time": 17,
    "validity_period": 17,
}
_SUBMIT_BYTES = (
    "source_addr_ton",
    "source_addr_npi",
    "dest_addr_ton",
    "dest_addr_npi",
    "esm_class",
    "protocol_id",
    "priority_flag",
    "registered_delivery",
    "replace_if_present_flag",
    "data_coding",
    "sm_default_msg_id",
)
# The optional parameters the driver sends (text.Part.tlvs), in smpplib's
# order (SubmitSM.params_order): name, tag, size (None: an octet string).
_SUBMIT_TLVS = (
    ("sar_msg_ref_num", 0x020C, 2),
    ("sar_total_segments", 0x020E, 1),
    ("sar_segment_seqnum", 0x020F, 1),
    ("message_payload", 0x0424, None),
)
_SUBMIT_FIELDS = frozenset(
    {*_SUBMIT_STRINGS, *_SUBMIT_BYTES, "short_message", *(name for name, _, _ in _SUBMIT_TLVS)}
)
_INT_FORMATS = {1: ">B", 2: ">H", 4: ">L"}


def submit_sm(sequence: int, fields: dict[str, Any]) -> bytes | None:
    """The submit_sm smpplib's `make_pdu("submit_sm", **fields).generate()`
    writes, or None for a shape left to smpplib."""
    if not fields.keys() <= _SUBMIT_FIELDS:
        return None
    get = fields.get
    strings: dict[str, bytes] = {}
    for name, limit in _SUBMIT_STRINGS.items():
        value = get(name)
        if value is None:
            value = ""
        if not isinstance(value, str) or len(value) >= limit:
            return None
        try:
            strings[name] = value.encode("latin-1") + b"\0"  # six.b, as smpplib
        except UnicodeEncodeError:
            return None
    numbers: dict[str, int] = {}
    for name in _SUBMIT_BYTES:
        value = get(name) or 0
        if type(value) is not int or not 0 <= value <= 0xFF:
            return None
        numbers[name] = value
    message = get("short_message") or b""
    if type(message) is not bytes or len(message) > 0xFF:
        return None
    if message and get("message_payload"):
        return None  # smpplib refuses both at once
    body = b"".join(
        (
            strings["service_type"],
            bytes((numbers["source_addr_ton"], numbers["source_addr_npi"])),
            strings["source_addr"],
            bytes((numbers["dest_addr_ton"], numbers["dest_addr_npi"])),
            strings["destination_addr"],
            bytes((numbers["esm_class"], numbers["protocol_id"], numbers["priority_flag"])),
            strings["schedule_delivery_time"],
            strings["validity_period"],
            bytes(
                (
                    numbers["registered_delivery"],
                    numbers["replace_if_present_flag"],
                    numbers["data_coding"],
                    numbers["sm_default_msg_id"],
                    len(message),
                )
            ),
            message,
        )
    )
    for name, tag, size in _SUBMIT_TLVS:
        value = get(name)
        if value is None:
            continue
        if size is None:  # an octet string: left out when empty, as smpplib does
            if type(value) is not bytes or len(value) > 0xFFFF:
                return None
            if value:
                body += _TLV_HEADER.pack(tag, len(value)) + value
        else:
            if type(value) is not int or not 0 <= value < 1 << (8 * size):
                return None
            body += _TLV_HEADER.pack(tag, size) + struct.pack(_INT_FORMATS[size], value)
    return _HEADER.pack(16 + len(body), SUBMIT_SM, 0, sequence) + body


def response(command_id: int, sequence: int, status: int = 0) -> bytes:
    """A response whose body is an empty message_id (deliver_sm_resp,
    data_sm_resp), as smpplib writes it."""
    return _HEADER.pack(17, command_id, status, sequence) + b"\0"


def submit_sm_resp_id(body: bytes) -> bytes | None:
    """The message_id of a submit_sm_resp's body as smpplib reads it (bytes, no
    NUL); None when the body is not exactly one C-string (left to smpplib)."""
    end = body.find(b"\0")
    if end < 0 or end != len(body) - 1:
        return None
    return body[:end]


@dataclass(frozen=True, slots=True)
class Deliver:
    """A deliver_sm (or data_sm) from the SMSC, fields as received. `tlvs` holds
    the optional parameters present: C-strings as str, integers as int, octet
    strings (message_payload, network_error_code) as bytes."""

    source_addr: str
    source_addr_ton: int
    destination_addr: str
    esm_class: int
    data_coding: int
    short_message: bytes
    tlvs: dict[str, Any]
    # The connection it came on, unique across connections and processes: the
    # SMSC sends a deliver_sm again only when its deliver_sm_resp may have been
    # lost, which on the connection that acknowledged it cannot happen.
    connection: str = ""


# deliver_sm's optional parameters as smpplib reads them (DeliverSM.params
# and consts.OPTIONAL_PARAMS): tag → name, kind (int size, "str" or "bytes").
_DELIVER_TLVS: dict[int, tuple[str, int | str]] = {
    0x0204: ("user_message_reference", 2),
    0x020A: ("source_port", 2),
    0x020B: ("destination_port", 2),
    0x020C: ("sar_msg_ref_num", 2),
    0x020E: ("sar_total_segments", 1),
    0x020F: ("sar_segment_seqnum", 1),
    0x0205: ("user_response_code", 1),
    0x0201: ("privacy_indicator", 1),
    0x0019: ("payload_type", 1),
    0x0424: ("message_payload", "bytes"),
    0x0381: ("callback_num", "bytes"),
    0x0202: ("source_subaddress", "str"),
    0x0203: ("dest_subaddress", "str"),
    0x020D: ("language_indicator", 1),
    0x1383: ("its_session_info", 2),
    0x0423: ("network_error_code", "bytes"),
    0x0427: ("message_state", 1),
    0x001E: ("receipted_message_id", "str"),
    0x000E: ("source_network_type", 1),
    0x0006: ("dest_network_type", 1),
    0x0426: ("more_messages_to_send", 1),
}


def deliver_sm(body: bytes, connection: str = "") -> Deliver | None:
    """What session.deliver_from would make of smpplib's parse of this
    deliver_sm body, or None for a body left to smpplib (a field cut short, an
    optional parameter it does not know or would read otherwise)."""
    pos = body.find(b"\0")  # service_type
    if pos < 0:
        return None
    pos += 1
    if pos + 2 > len(body):
        return None
    source_ton = body[pos]
    pos += 2
    end = body.find(b"\0", pos)
    if end < 0:
        return None
    source = body[pos:end]
    pos = end + 3  # dest_addr_ton, dest_addr_npi
    if pos > len(body):
        return None
    end = body.find(b"\0", pos)
    if end < 0:
        return None
    destination = body[pos:end]
    pos = end + 1
    if pos + 3 > len(body):
        return None
    esm_class = body[pos]
    pos += 3  # esm_class, protocol_id, priority_flag
    for _ in range(2):  # schedule_delivery_time, validity_period
        end = body.find(b"\0", pos)
        if end < 0:
            return None
        pos = end + 1
    if pos + 5 > len(body):
        return None
    data_coding = body[pos + 2]
    length = body[pos + 4]
    pos += 5
    if pos + length > len(body):
        return None
    message = body[pos : pos + length]
    pos += length
    tlvs: dict[str, Any] = {}
    while pos < len(body):
        if pos + 4 > len(body):
            return None
        tag, size = _TLV_HEADER.unpack_from(body, pos)
        pos += 4
        known = _DELIVER_TLVS.get(tag)
        if known is None or pos + size > len(body):
            return None
        name, kind = known
        value = body[pos : pos + size]
        if kind == "str":
            if size == 0:
                return None
            tlvs[name] = value[:-1].decode("latin-1")  # smpplib drops the last octet
        elif kind == "bytes":
            tlvs[name] = value
        else:
            if size != kind:
                return None
            tlvs[name] = int.from_bytes(value, "big")
        pos += size
    return Deliver(
        source_addr=source.decode("latin-1"),
        source_addr_ton=source_ton,
        destination_addr=destination.decode("latin-1"),
        esm_class=esm_class,
        data_coding=data_coding,
        short_message=message,
        tlvs=tlvs,
        connection=connection,
    )
