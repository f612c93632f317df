"""The pure parts of simgate.smpp.session: sequence numbers, the link's
settings, and what a received deliver_sm becomes."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from smpplib import smpp

from simgate.smpp.session import (
    MAX_SEQUENCE,
    Deliver,
    LinkConfig,
    Sequence,
    deliver_from,
)


@given(st.integers(min_value=0, max_value=MAX_SEQUENCE))
def test_sequence_numbers_stay_in_range_and_wrap_to_one(start: int) -> None:
    sequence = Sequence(start)
    value = sequence.next_sequence()
    assert 1 <= value <= MAX_SEQUENCE
    assert value == (1 if start == MAX_SEQUENCE else start + 1)
    assert sequence.sequence == value


def _parse(raw: bytes) -> Deliver:
    return deliver_from(smpp.parse_pdu(raw, client=Sequence(), allow_unknown_opt_params=True))


def test_a_receipt_from_the_reference_appendix() -> None:
    text = (
        b"id:0a1b2c3d sub:001 dlvrd:001 submit date:2611251230 done date:2611251231"
        b" stat:DELIVRD err:000 text:Hi @ 5"
    )
    body = (
        b"\x00\x01\x01491701234567\x00\x05\x00SimGate\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00"
        + bytes([len(text)])
        + text
        + b"\x00\x1e\x00\x090a1b2c3d\x00\x04\x27\x00\x01\x02"
    )
    raw = struct.pack(">LLLL", 16 + len(body), 5, 0, 7) + body
    assert raw.hex().startswith("000000b000000005")  # the appendix's length
    assert _parse(raw) == Deliver(
        source_addr="491701234567",
        source_addr_ton=1,
        destination_addr="SimGate",
        esm_class=0x04,
        data_coding=0,
        short_message=text,
        tlvs={"receipted_message_id": "0a1b2c3d", "message_state": 2},
    )


def test_vendor_tlvs_are_skipped_and_binary_ones_kept_as_bytes() -> None:
    pdu = smpp.make_pdu(
        "deliver_sm",
        client=Sequence(),
        source_addr="491709999999",
        destination_addr="SimGate",
        data_coding=8,
        short_message="😀".encode("utf-16-be"),
        network_error_code=b"\x03\x00\xff",
    )
    raw = pdu.generate() + b"\x14\x01\x00\x02\xca\xfe"  # vendor TLV 0x1401 at the end
    raw = struct.pack(">L", len(raw)) + raw[4:]
    deliver = _parse(raw)
    assert deliver.short_message.decode("utf-16-be") == "😀"
    assert deliver.tlvs == {"network_error_code": b"\x03\x00\xff"}


def test_data_sm_carries_its_text_in_message_payload() -> None:
    pdu = smpp.make_pdu(
        "data_sm",
        client=Sequence(),
        source_addr="491709999999",
        destination_addr="SimGate",
        esm_class=0x04,
        message_payload=b"id:1 stat:DELIVRD",
        receipted_message_id="1",
    )
    deliver = _parse(pdu.generate())
    assert deliver.short_message == b""
    assert deliver.tlvs == {"message_payload": b"id:1 stat:DELIVRD", "receipted_message_id": "1"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("system_id", "s" * 16),
        ("password", "p" * 9),
        ("system_type", "t" * 13),
        ("bind", "rx"),
        ("window", 0),
        ("tps", 0.0),
        ("tps", float("nan")),
    ],
)
def test_link_config_refuses_what_smpplib_would_cut_or_the_link_cannot_do(
    field: str, value: Any
) -> None:
    fields: dict[str, Any] = {"host": "127.0.0.1", "port": 2775, "system_id": "a", "password": "b"}
    with pytest.raises(ValueError, match=field):
        LinkConfig(**{**fields, field: value})
    assert LinkConfig(**{**fields, "system_id": "s" * 15, "password": "p" * 8}).window == 10
