"""The hand-written PDUs (simgate/smpp/pdus.py) are smpplib's, byte for byte:
whatever they write or read, smpplib writes or reads the same; what they
leave to smpplib, smpplib keeps handling."""

from __future__ import annotations

import struct
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from smpplib import smpp

from simgate.smpp import pdus
from simgate.smpp import text as coding
from simgate.smpp.session import Sequence, deliver_from

SEQUENCES = st.integers(1, 0x7FFFFFFF)


def smpplib_submit(sequence: int, fields: dict[str, Any]) -> bytes | None:
    try:
        return bytes(smpp.make_pdu("submit_sm", client=Sequence(sequence - 1), **fields).generate())
    except Exception:
        return None


def latin_text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(st.characters(max_codepoint=0xFF), max_size=max_size)


@st.composite
def submit_fields(draw: st.DrawFn) -> dict[str, Any]:
    """submit_sm fields as the driver gives them, and beyond (too long, out of
    range, of the wrong type, unknown to pdus.py)."""
    fields: dict[str, Any] = {}
    for name in pdus._SUBMIT_STRINGS:
        if draw(st.booleans()):
            fields[name] = draw(
                st.none() | latin_text(24) | st.text(max_size=4) | st.binary(max_size=3)
            )
    for name in pdus._SUBMIT_BYTES:
        if draw(st.booleans()):
            fields[name] = draw(st.none() | st.integers(-1, 260) | st.booleans())
    if draw(st.booleans()):
        fields["short_message"] = draw(st.none() | st.binary(max_size=260) | st.text(max_size=3))
    for name, _, size in pdus._SUBMIT_TLVS:
        if draw(st.integers(0, 3)) == 0:
            if size is None:
                fields[name] = draw(st.binary(max_size=300) | st.none())
            else:
                fields[name] = draw(st.integers(-1, 1 << (8 * size)))
    if draw(st.integers(0, 9)) == 0:
        fields[draw(st.sampled_from(["sm_length", "payload_type", "ms_validity"]))] = 1
    return fields


@given(sequence=SEQUENCES, fields=submit_fields())
@settings(max_examples=500)
def test_a_submit_sm_written_by_hand_is_smpplibs(sequence: int, fields: dict[str, Any]) -> None:
    ours = pdus.submit_sm(sequence, fields)
    if ours is not None:
        assert ours == smpplib_submit(sequence, fields)


@given(
    sequence=SEQUENCES,
    message=st.text(max_size=400),
    concat=st.sampled_from(["udh8", "udh16", "sar", "payload"]),
    ref=st.integers(0, 0xFF),
    validity=st.sampled_from(["", "261127120000000+", "000001000000000R"]),
)
def test_every_part_the_driver_submits_is_written_by_hand(
    sequence: int, message: str, concat: Any, ref: int, validity: str
) -> None:
    try:
        parts = coding.encode_parts(message, concat=concat, ref=ref, dc0="gsm7")
    except ValueError:
        return  # a text that cannot be sent: refused before any submit
    for part in parts:
        fields = {
            "source_addr_ton": 5,
            "source_addr_npi": 0,
            "source_addr": "SimGate",
            "dest_addr_ton": 1,
            "dest_addr_npi": 1,
            "destination_addr": "33612000001",
            "esm_class": part.esm_class,
            "data_coding": part.data_coding,
            "short_message": part.short_message,
            "registered_delivery": 1,
            "validity_period": validity,
            **part.tlvs,
        }
        ours = pdus.submit_sm(sequence, fields)
        assert ours is not None
        assert ours == smpplib_submit(sequence, fields)


@given(sequence=SEQUENCES, status=st.integers(0, 0xFFFFFFFF))
def test_the_empty_responses_are_smpplibs(sequence: int, status: int) -> None:
    for command, command_id in (("deliver_sm_resp", 0x80000005), ("data_sm_resp", 0x80000103)):
        pdu = smpp.make_pdu(command, client=Sequence(), status=status)
        pdu.sequence = sequence
        assert pdus.response(command_id, sequence, status) == pdu.generate()


def smpplib_parse(command_id: int, body: bytes) -> Any:
    raw = struct.pack(">LLLL", 16 + len(body), command_id, 0, 7) + body
    return smpp.parse_pdu(raw, client=Sequence(), allow_unknown_opt_params=True)


@given(body=st.binary(max_size=70) | latin_text(66).map(lambda s: s.encode("latin-1") + b"\0"))
def test_a_submit_sm_resp_read_by_hand_is_smpplibs(body: bytes) -> None:
    ours = pdus.submit_sm_resp_id(body)
    if ours is not None:
        assert ours == smpplib_parse(pdus.SUBMIT_SM_RESP, body).message_id


def c_string(max_size: int) -> st.SearchStrategy[bytes]:
    return st.binary(max_size=max_size).map(lambda b: b.replace(b"\0", b"") + b"\0")


TAGS = [*pdus._DELIVER_TLVS, 0x0210, 0x1401, 0x0420]  # and some it does not know


@st.composite
def deliver_bodies(draw: st.DrawFn) -> bytes:
    """deliver_sm bodies: well formed, with optional parameters of any known
    or unknown tag and length, and cut short or lengthened anywhere."""
    message = draw(st.binary(max_size=160))
    body = b"".join(
        (
            draw(c_string(6)),
            bytes(draw(st.lists(st.integers(0, 255), min_size=2, max_size=2))),
            draw(c_string(21)),
            bytes(draw(st.lists(st.integers(0, 255), min_size=2, max_size=2))),
            draw(c_string(21)),
            bytes(draw(st.lists(st.integers(0, 255), min_size=3, max_size=3))),
            draw(c_string(17)),
            draw(c_string(17)),
            bytes(draw(st.lists(st.integers(0, 255), min_size=4, max_size=4))),
            bytes((len(message),)),
            message,
        )
    )
    for _ in range(draw(st.integers(0, 4))):
        tag = draw(st.sampled_from(TAGS))
        kind = pdus._DELIVER_TLVS.get(tag, ("", "bytes"))[1]
        if isinstance(kind, int) and draw(st.integers(0, 4)):
            value = draw(st.integers(0, (1 << (8 * kind)) - 1)).to_bytes(kind, "big")
        elif kind == "str" and draw(st.integers(0, 4)):
            value = draw(c_string(65))
        else:
            value = draw(st.binary(max_size=12))
        body += struct.pack(">HH", tag, len(value)) + value
    cut = draw(st.integers(0, 5))
    if cut == 0:
        body = body[: draw(st.integers(0, len(body)))]
    elif cut == 1:
        body += draw(st.binary(max_size=6))
    return body


@given(body=deliver_bodies())
@settings(max_examples=800)
def test_a_deliver_sm_read_by_hand_is_what_smpplib_reads(body: bytes) -> None:
    ours = pdus.deliver_sm(body)
    if ours is None:
        return
    assert deliver_from(smpplib_parse(pdus.DELIVER_SM, body)) == ours


def test_a_receipt_as_smscs_send_it_is_read_by_hand() -> None:
    text = b"id:0a1b2c sub:001 dlvrd:001 submit date:2611270320 done date:2611270320 stat:DELIVRD"
    pdu = smpp.make_pdu(
        "deliver_sm",
        client=Sequence(),
        source_addr="33612000001",
        destination_addr="SimGate",
        esm_class=0x04,
        short_message=text + b" err:000 text:bench",
        receipted_message_id="0a1b2c",
        message_state=2,
        network_error_code=b"\x03\x00\x00",
    )
    raw = pdu.generate()
    ours = pdus.deliver_sm(raw[16:])
    assert ours is not None
    assert ours.tlvs == {
        "receipted_message_id": "0a1b2c",
        "message_state": 2,
        "network_error_code": b"\x03\x00\x00",
    }
    assert deliver_from(smpplib_parse(pdus.DELIVER_SM, raw[16:])).short_message == (
        ours.short_message
    )
