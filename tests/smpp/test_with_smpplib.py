"""The pure modules' output goes through smpplib's PDU codec as the session will use it:
the appendix's submit_sm byte for byte, and every part's fields back unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from simgate.smpp import addresses, text
from simgate.smpp.text import Concat

smpp = pytest.importorskip("smpplib.smpp")


class _Sequence:
    """The least smpplib needs from a client to number a PDU."""

    sequence = 2

    def next_sequence(self) -> int:
        return self.sequence


def submit_sm(part: text.Part, **fields: Any) -> Any:
    src = addresses.source("SimGate")
    dst = addresses.destination("+491701234567")
    pdu = smpp.make_pdu(
        "submit_sm",
        client=_Sequence(),
        service_type="",
        source_addr_ton=src.ton,
        source_addr_npi=src.npi,
        source_addr=src.addr,
        dest_addr_ton=dst.ton,
        dest_addr_npi=dst.npi,
        destination_addr=dst.addr,
        esm_class=part.esm_class,
        protocol_id=0,
        priority_flag=0,
        schedule_delivery_time="",
        replace_if_present_flag=0,
        data_coding=part.data_coding,
        sm_default_msg_id=0,
        registered_delivery=1,
        short_message=part.short_message,
        **part.tlvs,
        **fields,
    )
    pdu.sequence = 2
    return pdu


def test_appendix_submit_sm_byte_for_byte() -> None:
    [part] = text.encode_parts("Hi @ 5€", ref=0)
    raw = submit_sm(part, validity_period="").generate()
    assert raw.hex() == (
        "0000003c 00000004 00000000 00000002 00 05 00 53696d4761746500 01 01"
        " 34393137303132333435363700 00 00 00 00 00 01 00 00 00 08 4869200020351b65"
    ).replace(" ", "")


@pytest.mark.parametrize("concat", ["udh8", "udh16", "sar", "payload"])
def test_parts_survive_the_codec(concat: Concat) -> None:
    message = "Grüße aus Köln 😀 " * 20
    for part in text.encode_parts(message, concat=concat, ref=200):
        raw = submit_sm(part, validity_period="000000010000000R").generate()
        back = smpp.parse_pdu(raw, client=_Sequence(), allow_unknown_opt_params=True)
        assert (back.esm_class, back.data_coding) == (part.esm_class, part.data_coding)
        assert back.short_message == part.short_message
        for name, value in part.tlvs.items():
            assert getattr(back, name) == value
        assert back.validity_period == b"000000010000000R"
