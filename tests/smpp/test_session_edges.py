"""simgate.smpp.session against a scripted SMSC written here, PDU by PDU, for
what the simulator does not do: data_sm, unknown commands, the SMSC's unbind,
error responses with and without a body, generic_nack to a submit."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import ssl
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from smpplib import smpp

from simgate.smpp import session
from simgate.smpp.session import Deliver, Link, LinkConfig, Sequence, SubmitResult
from tests.support.nginx import make_certificate

FIELDS: dict[str, Any] = {"destination_addr": "491701234567", "short_message": b"Hi"}


class Peer:
    """The SMSC's side of one connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.sequence = Sequence(1000)

    async def read(self) -> Any:
        header = await asyncio.wait_for(self.reader.readexactly(16), 5)
        (length,) = struct.unpack(">L", header[:4])
        raw = header + await self.reader.readexactly(length - 16)
        return smpp.parse_pdu(raw, client=self.sequence, allow_unknown_opt_params=True)

    def send(self, command: str, sequence: int | None = None, **fields: Any) -> int:
        pdu = smpp.make_pdu(command, client=self.sequence, **fields)
        if sequence is not None:
            pdu.sequence = sequence
        self.writer.write(pdu.generate())
        return int(pdu.sequence)

    def send_raw(self, command_id: int, status: int, sequence: int, body: bytes = b"") -> None:
        self.writer.write(struct.pack(">LLLL", 16 + len(body), command_id, status, sequence) + body)

    async def answer_unbind(self) -> None:
        unbind = await self.read()
        assert unbind.command == "unbind"
        self.send("unbind_resp", sequence=unbind.sequence)

    async def accept_bind(self) -> Any:
        bind = await self.read()
        self.send(f"{bind.command}_resp", sequence=bind.sequence, system_id="FAKE")
        return bind


class FakeSmsc:
    def __init__(self) -> None:
        self.peers: asyncio.Queue[Peer] = asyncio.Queue()
        self.writers: list[asyncio.StreamWriter] = []

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        await self.peers.put(Peer(reader, writer))

    async def next_peer(self) -> Peer:
        return await asyncio.wait_for(self.peers.get(), 5)


@contextlib.asynccontextmanager
async def link_to_fake(
    **config: Any,
) -> AsyncIterator[tuple[FakeSmsc, Link, list[Deliver], asyncio.Event]]:
    smsc = FakeSmsc()
    server = await asyncio.start_server(smsc._accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    received: list[Deliver] = []

    async def keep(deliver: Deliver) -> None:
        received.append(deliver)

    config.setdefault("reconnect_min", 0.05)
    config.setdefault("reconnect_max", 0.1)
    link = Link(LinkConfig("127.0.0.1", port, "test", "test", **config), keep)
    stop = asyncio.Event()
    task = asyncio.create_task(link.run(stop))
    try:
        yield smsc, link, received, stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        for writer in smsc.writers:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_data_sm_and_unknown_commands_from_the_smsc() -> None:
    async with link_to_fake() as (smsc, link, received, stop):
        peer = await smsc.next_peer()
        await peer.accept_bind()
        sequence = peer.send(
            "data_sm", source_addr="4917", esm_class=4, message_payload=b"id:7 stat:DELIVRD"
        )
        answer = await peer.read()
        assert (answer.command, answer.status, answer.sequence) == ("data_sm_resp", 0, sequence)
        assert received[0].tlvs["message_payload"] == b"id:7 stat:DELIVRD"

        peer.send_raw(0x00000099, 0, 555)  # a command nobody knows
        nack = await peer.read()
        assert (nack.command, nack.status, nack.sequence) == ("generic_nack", 0x03, 555)
        peer.send_raw(0x00000008, 0, 556, b"\x00" * 8)  # cancel_sm: known, not for an ESME
        nack = await peer.read()
        assert (nack.command, nack.status, nack.sequence) == ("generic_nack", 0x03, 556)
        stop.set()
        await peer.answer_unbind()


async def test_error_answers_with_or_without_a_body_and_generic_nack() -> None:
    async with link_to_fake() as (smsc, link, _, stop):
        peer = await smsc.next_peer()
        await peer.accept_bind()
        answers = [
            (0x80000004, 0x45, b""),  # no body
            (0x80000004, 0x0B, b"\x00"),  # an empty message_id
            (0x80000000, 0x03, b""),  # generic_nack
            (0x80000004, 0, b"7A3F0C\x00"),
        ]
        results = []
        for command_id, status, body in answers:
            submit = asyncio.create_task(link.submit(**FIELDS))
            request = await peer.read()
            assert request.command == "submit_sm"
            peer.send_raw(command_id, status, request.sequence, body)
            results.append(await asyncio.wait_for(submit, 5))
        assert results == [
            SubmitResult(0x45, None),
            SubmitResult(0x0B, None),
            SubmitResult(0x03, None),
            SubmitResult(0, "7A3F0C"),
        ]
        stop.set()
        await peer.answer_unbind()


async def test_the_smscs_unbind_is_answered_and_the_link_binds_again() -> None:
    async with link_to_fake() as (smsc, link, _, stop):
        first = await smsc.next_peer()
        await first.accept_bind()
        await asyncio.wait_for(link.bound.wait(), 5)
        sequence = first.send("unbind")
        answer = await first.read()
        assert (answer.command, answer.sequence) == ("unbind_resp", sequence)
        assert await first.reader.read() == b""  # then it closes
        second = await smsc.next_peer()
        assert (await second.accept_bind()).command == "bind_transceiver"
        await asyncio.wait_for(link.bound.wait(), 5)
        stop.set()  # the link unbinds and waits for the answer
        await second.answer_unbind()


async def test_an_unanswered_enquire_link_makes_the_link_reconnect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session, "ENQUIRE_ANSWER_TIMEOUT", 0.2)
    async with link_to_fake(enquire_interval=0.1) as (smsc, link, _, stop):
        silent = await smsc.next_peer()
        await silent.accept_bind()
        assert (await silent.read()).command == "enquire_link"  # and no answer from here
        assert await silent.reader.read() == b""  # closed by the link
        second = await smsc.next_peer()
        await second.accept_bind()
        await asyncio.wait_for(link.bound.wait(), 5)
        stop.set()
        while (pdu := await second.read()).command == "enquire_link":
            second.send("enquire_link_resp", sequence=pdu.sequence)
        assert pdu.command == "unbind"
        second.send("unbind_resp", sequence=pdu.sequence)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is not installed")
async def test_tls_binds_with_the_providers_ca_and_refuses_an_unknown_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cert, key = make_certificate(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    smsc = FakeSmsc()
    server = await asyncio.start_server(smsc._accept, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]

    async def ignore(deliver: Deliver) -> None:
        pass

    async def bind_with(**tls: Any) -> bool:
        config = LinkConfig("127.0.0.1", port, "test", "test", tls=True, reconnect_min=5, **tls)
        link, stop = Link(config, ignore), asyncio.Event()
        task = asyncio.create_task(link.run(stop))
        try:
            peer = await asyncio.wait_for(smsc.peers.get(), 1)
            await peer.accept_bind()
            await asyncio.wait_for(link.bound.wait(), 5)
            stop.set()
            await peer.answer_unbind()
            return True
        except TimeoutError:
            return False
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)

    try:
        assert await bind_with(tls_ca_file=str(cert))
        assert await bind_with(tls_verify=False)
        assert not await bind_with()  # self-signed, not in the system's store
        assert "CERTIFICATE_VERIFY_FAILED" in caplog.text
    finally:
        for writer in smsc.writers:
            writer.close()
        server.close()
        await server.wait_closed()
