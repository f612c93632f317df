"""The gammu driver against Gammu's own `dummy` driver, a phone whose memory is
a folder (shared/reference/gammu.md section 7.1): the send, receive, delete
cycle, and calls."""

from __future__ import annotations

import asyncio
from pathlib import Path

from simgate.device.drivers import CallEvent, Delivered, IncomingSms, Sent
from tests.devices.gammu_helpers import Running
from tests.support.gammu_standins import DummyPhone


async def test_send_receive_delete(tmp_path: Path) -> None:
    phone = DummyPhone(tmp_path / "dummy")
    async with Running(phone.gammurc(), tmp_path / "agent") as run:
        await run.driver.send_sms("1.0", "+15551234567", "Hello from the dummy")
        await run.until(lambda: run.of(Sent))
        phone.status_report("+15551234567")  # reference 255, as the dummy's SendSMS says
        await run.until(lambda: run.of(Delivered))
        await run.until(lambda: phone.inbox() == [])  # the sent box holds it now

        phone.receive("+33612345678", "Réponse: oui 👍")
        [sms] = await run.until(lambda: run.of(IncomingSms))
        assert (sms.sender, sms.text) == ("+33612345678", "Réponse: oui 👍")
        await asyncio.sleep(0.3)
        assert phone.inbox() == ["1"]  # kept until the server has it
        run.driver.report_settled(sms.ref or "", stored=True)
        await run.until(lambda: phone.inbox() == [])
    assert [e.command_id for e in run.of(Delivered)] == ["1.0"]


async def test_incoming_call_and_dial(tmp_path: Path) -> None:
    phone = DummyPhone(tmp_path / "dummy")
    async with Running(phone.gammurc(), tmp_path / "agent") as run:
        phone.ring()
        await run.until(lambda: run.of(CallEvent))
        await run.driver.dial("7.0", "+33611111111")
        await run.until(lambda: len(run.of(CallEvent)) == 2)
    incoming, outgoing = run.of(CallEvent)
    # The dummy's caller is hard-coded (section 7.1).
    assert (incoming.event, incoming.number) == ("incoming_call", "+800123456")
    assert (outgoing.event, outgoing.number) == ("outgoing_call", "+33611111111")
    assert "Dialling +33611111111" in phone.operations()  # written when the phone closes
