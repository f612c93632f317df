"""The SMSC simulator itself (smpp.md §12), driven with raw PDUs from smpplib's
codec over a blocking socket: what simgate's SMPP tests rely on it to do."""

from __future__ import annotations

import socket
import struct
import time
from typing import Any

import pytest
from smpplib import smpp

from tests.support.polling import wait_for
from tests.support.smsc import PASSWORD, SYSTEM_ID, SmscSimulator

RINVBNDSTS, RINVPASWD, RINVSYSID, RTHROTTLED, RINVCMDID = 0x04, 0x0E, 0x0F, 0x58, 0x03


class RawEsme:
    """One SMPP connection to the simulator, a PDU at a time."""

    def __init__(self, sim: SmscSimulator) -> None:
        self.sock = socket.create_connection(("127.0.0.1", sim.smpp_port), timeout=5)
        self.sequence = 0

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    def send(self, command: str, **fields: Any) -> Any:
        pdu = smpp.make_pdu(command, client=self, **fields)
        if "sequence" in fields:  # smpplib ignores the keyword when its client has a sequence
            pdu.sequence = fields["sequence"]
        self.sock.sendall(pdu.generate())
        return pdu

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self, timeout: float = 5) -> Any:
        self.sock.settimeout(timeout)
        header = self._exactly(4)
        (length,) = struct.unpack(">L", header)
        return smpp.parse_pdu(
            header + self._exactly(length - 4), client=self, allow_unknown_opt_params=True
        )

    def _exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed by the simulator")
            data += chunk
        return data

    def bind(
        self, mode: str = "transceiver", system_id: str = SYSTEM_ID, password: str = PASSWORD
    ) -> Any:
        self.send(f"bind_{mode}", system_id=system_id, password=password, system_type="")
        return self.read()

    def submit(self, destination: str = "491701234567", **fields: Any) -> Any:
        defaults: dict[str, Any] = {
            "source_addr_ton": 5,
            "source_addr_npi": 0,
            "source_addr": "SimGate",
            "dest_addr_ton": 1,
            "dest_addr_npi": 1,
            "destination_addr": destination,
            "registered_delivery": 1,
            "data_coding": 0,
            "short_message": b"Hi \x00 5\x1be",
        }
        self.send("submit_sm", **{**defaults, **fields})
        return self.read()

    def ack(self, pdu: Any, status: int = 0) -> None:
        self.send("deliver_sm_resp", sequence=pdu.sequence, status=status)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def esme(smsc_sim: SmscSimulator) -> Any:
    connection = RawEsme(smsc_sim)
    yield connection
    connection.close()


@pytest.mark.parametrize(
    ("system_id", "password", "status"),
    [("test", "wrong", RINVPASWD), ("nobody", "test", RINVSYSID), ("test", "test", 0)],
)
def test_bind_checks_system_id_and_password(
    esme: RawEsme, system_id: str, password: str, status: int
) -> None:
    resp = esme.bind(system_id=system_id, password=password)
    assert resp.command == "bind_transceiver_resp"
    assert resp.status == status
    if status == 0:
        assert resp.system_id == b"SIMSMSC"


def test_submit_is_recorded_and_its_receipt_carries_text_and_tlvs(
    esme: RawEsme, smsc_sim: SmscSimulator
) -> None:
    esme.bind()
    resp = esme.submit(validity_period="000000010000000R")
    assert resp.status == 0
    message_id = resp.message_id.decode()
    assert len(message_id) == 8 and int(message_id, 16) > 0

    receipt = esme.read()
    assert receipt.command == "deliver_sm"
    assert receipt.esm_class == 0x04
    assert receipt.source_addr == b"491701234567" and receipt.destination_addr == b"SimGate"
    assert (receipt.source_addr_ton, receipt.dest_addr_ton) == (1, 5)
    assert receipt.receipted_message_id == message_id.encode()
    assert receipt.message_state == 2
    text = receipt.short_message.decode()
    assert text.startswith(f"id:{message_id} sub:001 dlvrd:001 submit date:")
    assert "stat:DELIVRD err:000 text:Hi @ 5?" in text  # GSM-7 decoded, € not ASCII
    esme.ack(receipt)
    wait_for(lambda: smsc_sim.dlrs()[0]["state"] == "acked", timeout=5)

    (record,) = smsc_sim.submits()
    assert record["short_message_hex"] == "4869200020351b65"
    assert record["text"] == "Hi @ 5€"
    assert (record["source_addr_ton"], record["source_addr_npi"]) == (5, 0)
    assert record["validity_period"] == "000000010000000R"
    assert smsc_sim.messages()[0]["parts"] == [message_id]


def test_destination_666_fails_and_777_never_gets_a_receipt(
    esme: RawEsme, smsc_sim: SmscSimulator
) -> None:
    esme.bind()
    esme.submit("491700000777")
    failed_id = esme.submit("491700000666").message_id.decode()
    receipt = esme.read()
    assert receipt.receipted_message_id.decode() == failed_id
    assert receipt.message_state == 5
    assert "stat:UNDELIV err:001" in receipt.short_message.decode()
    esme.ack(receipt)
    time.sleep(0.6)
    assert [d["message_id"] for d in smsc_sim.dlrs()] == [failed_id]


def test_receipts_wait_for_a_receiver_and_dates_can_have_seconds(smsc_sim: SmscSimulator) -> None:
    smsc_sim.configure(receipt_delay_ms=0, receipt_date_digits=12)
    transmitter, receiver = RawEsme(smsc_sim), RawEsme(smsc_sim)
    try:
        assert transmitter.bind("transmitter").status == 0
        message_id = transmitter.submit().message_id.decode()
        wait_for(lambda: smsc_sim.dlrs() and smsc_sim.dlrs()[0]["state"] == "queued", timeout=5)
        assert receiver.bind("receiver").status == 0
        receipt = receiver.read()
        assert receipt.receipted_message_id.decode() == message_id
        text = receipt.short_message.decode()
        assert len(text.split("submit date:")[1].split()[0]) == 12
        assert transmitter.send("submit_sm") and transmitter.read().status == 0  # TX may submit
        assert receiver.submit().status == RINVBNDSTS  # RX may not
    finally:
        transmitter.close()
        receiver.close()


def test_error_receipt_answer_makes_the_simulator_deliver_again(
    esme: RawEsme, smsc_sim: SmscSimulator
) -> None:
    smsc_sim.configure(receipt_delay_ms=50)
    esme.bind()
    esme.submit()
    first = esme.read()
    esme.ack(first, status=0x64)
    second = esme.read()
    assert second.receipted_message_id == first.receipted_message_id
    esme.ack(second)
    wait_for(lambda: smsc_sim.dlrs()[0]["resp_statuses"] == [0x64, 0], timeout=5)


def _ucs2(text: str) -> bytes:
    return text.encode("utf-16-be")


def test_concatenated_parts_are_joined_as_bytes_before_decoding(
    esme: RawEsme, smsc_sim: SmscSimulator
) -> None:
    esme.bind()
    smsc_sim.configure(receipt_delay_ms=60000)
    emoji = _ucs2("ab\U0001f600cd")  # the surrogate pair is cut between the two parts
    for seq, chunk in ((2, emoji[6:]), (1, emoji[:6])):  # out of order on purpose
        udh = bytes([5, 0, 3, 0x2A, 2, seq])
        assert esme.submit(esm_class=0x40, data_coding=8, short_message=udh + chunk).status == 0
    for seq, chunk in ((1, b"Hel"), (2, b"lo")):
        udh16 = bytes([6, 8, 4, 0x12, 0x34, 2, seq])
        esme.submit(esm_class=0x40, short_message=udh16 + chunk)
    for seq, chunk in ((1, b"SA"), (2, b"R!")):
        esme.submit(
            short_message=chunk, sar_msg_ref_num=7, sar_total_segments=2, sar_segment_seqnum=seq
        )
    esme.submit(short_message=None, message_payload=b"payload " * 40)

    messages = smsc_sim.messages()
    assert [(m["kind"], m["text"]) for m in messages] == [
        ("udh8", "ab\U0001f600cd"),
        ("udh16", "Hello"),
        ("sar", "SAR!"),
        ("payload", "payload " * 40),
    ]
    submits = smsc_sim.submits()
    assert messages[0]["parts"] == [submits[1]["message_id"], submits[0]["message_id"]]
    assert submits[0]["udh_hex"] == "0500032a0202"
    assert submits[0]["concat"] == {"kind": "udh8", "ref": 42, "total": 2, "seq": 2}


def test_mo_reaches_a_bound_receiver_or_waits_for_one(
    esme: RawEsme, smsc_sim: SmscSimulator
) -> None:
    assert smsc_sim.mo("491709999999", "SimGate", "queued @") is False
    esme.bind()
    queued = esme.read()
    assert (queued.esm_class, queued.data_coding, queued.short_message) == (0, 0, b"queued \x00")
    esme.ack(queued)

    assert smsc_sim.mo("491709999999", "SimGate", "Привет", vendor_tlv_hex="cafe") is True
    mo = esme.read()
    assert mo.data_coding == 8 and mo.short_message.decode("utf-16-be") == "Привет"
    assert mo.source_addr == b"491709999999"
    esme.ack(mo)
    wait_for(lambda: [m["state"] for m in smsc_sim.mos()] == ["acked", "acked"], timeout=5)


def test_throttling_by_command_and_by_window(esme: RawEsme, smsc_sim: SmscSimulator) -> None:
    smsc_sim.configure(receipt_delay_ms=60000)
    esme.bind()
    smsc_sim.reject(RTHROTTLED, count=2)
    assert [esme.submit().status for _ in range(3)] == [RTHROTTLED, RTHROTTLED, 0]

    smsc_sim.configure(window=2, resp_delay_ms=200)
    for _ in range(4):
        esme.send("submit_sm", destination_addr="491701234567", short_message=b"x")
    statuses = sorted(esme.read().status for _ in range(4))
    assert statuses == [0, 0, RTHROTTLED, RTHROTTLED]
    health = smsc_sim.health()
    assert health["max_inflight"] == 2 and health["throttled"] == 2


def _next_answering_enquire_links(esme: RawEsme, timeout: float = 5) -> Any:
    """The next PDU that is not the SMSC's own enquire_link (those are answered)."""
    while (pdu := esme.read(timeout)).command == "enquire_link":
        esme.send("enquire_link_resp", sequence=pdu.sequence)
    return pdu


def test_keepalive_unknown_commands_and_unbind(esme: RawEsme, smsc_sim: SmscSimulator) -> None:
    smsc_sim.configure(enquire_ms=100)
    esme.bind()
    esme.send("enquire_link")
    assert _next_answering_enquire_links(esme).command == "enquire_link_resp"
    # An unknown command id (0x00000099): generic_nack ESME_RINVCMDID with the same sequence.
    esme.send_raw(struct.pack(">LLLL", 16, 0x99, 0, 4242))
    pdu = _next_answering_enquire_links(esme)
    assert (pdu.command, pdu.status, pdu.sequence) == ("generic_nack", RINVCMDID, 4242)
    assert smsc_sim.health()["enquire_link_received"] == 1

    def smsc_saw_an_answer() -> bool:
        try:
            _next_answering_enquire_links(esme, timeout=0.05)
        except TimeoutError:
            pass
        return int(smsc_sim.health()["enquire_link_resp_seen"]) >= 1

    wait_for(smsc_saw_an_answer, timeout=5)
    esme.send("unbind")
    assert _next_answering_enquire_links(esme).command == "unbind_resp"
    with pytest.raises(ConnectionError):
        esme.read()
    assert smsc_sim.health()["unbind_received"] == 1


def test_disconnect_drops_every_connection(esme: RawEsme, smsc_sim: SmscSimulator) -> None:
    esme.bind()
    assert smsc_sim.disconnect() == 1
    with pytest.raises(ConnectionError):
        esme.read()
