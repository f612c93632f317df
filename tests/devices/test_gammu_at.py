"""The gammu driver against a fake AT modem (tests/support/fake_at_modem.py)
over Gammu's `proxyat` connection: libGammu's real AT driver and PDU codec
run, and the PDUs the modem captured are what a radio would have sent."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from simgate.device.drivers import (
    CallEvent,
    Delivered,
    Failed,
    IncomingSms,
    NotSent,
    Sent,
    Undelivered,
)
from tests.devices.gammu_helpers import FAST, GammuOptions, Running
from tests.support.gammu_standins import FakeModem

TO = "+15551234567"
LONG = "Le rendez-vous est confirmé pour demain. " * 5  # GSM 7-bit, two parts
RUSSIAN = "Привет! Встреча завтра в 10:00 😀"  # needs UCS-2


@pytest.fixture
def modem(tmp_path: Path) -> FakeModem:
    return FakeModem(tmp_path / "modem")


async def test_sends_single_multipart_and_unicode(modem: FakeModem, tmp_path: Path) -> None:
    async with Running(modem.gammurc(), tmp_path / "agent") as run:
        await run.driver.send_sms("1.0", TO, "Hello [world] €")
        await run.driver.send_sms("2.0", TO, LONG)
        await run.driver.send_sms("3.0", "+33612345678", RUSSIAN)
        await run.until(lambda: len(run.of(Sent)) == 3)
    assert [e.command_id for e in run.of(Sent)] == ["1.0", "2.0", "3.0"]

    submits = [s for _, s in modem.submits()]
    assert len(submits) == 4
    single, first, second, unicode = submits
    assert (single.text, single.coding, single.concat) == ("Hello [world] €", "gsm7", None)
    # A long text: parts of one concatenated SMS, in order, GSM 7-bit.
    assert first.concat and second.concat
    assert first.concat[0] == second.concat[0] and first.concat[1:] == (2, 1)
    assert second.concat[1:] == (2, 2)
    assert first.text + second.text == LONG and first.coding == "gsm7"
    assert (unicode.number, unicode.text, unicode.coding) == ("+33612345678", RUSSIAN, "ucs2")
    # Delivery reports asked for (TP-SRR) on every part; the SIM's SMSC used.
    assert all(s.status_report and s.smsc == "+15550000000" for s in submits)


async def test_without_delivery_reports_none_is_asked_or_claimed(
    modem: FakeModem, tmp_path: Path
) -> None:
    options = GammuOptions(poll_interval=0.1, delivery_reports=False, calls=False)
    async with Running(modem.gammurc(), tmp_path / "agent", options) as run:
        assert not run.driver.capabilities.delivery_reports
        assert not run.driver.capabilities.dial and not run.driver.capabilities.call_events
        await run.driver.send_sms("1.0", TO, "no report please")
        await run.until(lambda: run.of(Sent))
        [(reference, submit)] = modem.submits()
        assert not submit.status_report
        modem.status_report(reference, TO)  # one comes anyway: still never claimed
        await run.until(lambda: modem.stored() == [])
    assert not run.of(Delivered)


async def test_delivery_reports_match_sends_by_reference(modem: FakeModem, tmp_path: Path) -> None:
    modem.next_reference(254)  # references wrap at 256
    async with Running(modem.gammurc(), tmp_path / "agent") as run:
        await run.driver.send_sms("1.0", TO, "one")
        await run.driver.send_sms("2.0", "+33612345678", LONG)
        await run.driver.send_sms("3.0", "+33700000000", "three")
        await run.until(lambda: len(run.of(Sent)) == 3)
        refs = {(s.number, s.concat and s.concat[2]): mr for mr, s in modem.submits()}
        assert refs == {(TO, None): 254, ("+33612345678", 1): 255, ("+33612345678", 2): 0,
                        ("+33700000000", None): 1}

        modem.status_report(254, TO, status=0x20)  # the SMSC still tries: nothing yet
        modem.status_report(255, "+33612345678")  # one part of two delivered: nothing yet
        modem.status_report(1, "+33700000000", status=0x41)  # failed for good
        await run.until(lambda: run.of(Undelivered))
        await run.until(lambda: modem.stored() == [])
        assert not run.of(Delivered)

        modem.status_report(254, TO)
        modem.status_report(0, "+33612345678")
        modem.status_report(0, "+33612345678")  # a duplicate: about nothing any more
        await run.until(lambda: len(run.of(Delivered)) == 2)
        await run.until(lambda: modem.stored() == [])
    assert sorted(e.command_id for e in run.of(Delivered)) == ["1.0", "2.0"]
    [undelivered] = run.of(Undelivered)
    assert undelivered.command_id == "3.0" and "0x41" in undelivered.reason


async def test_incoming_sms_leave_the_modem_only_once_the_server_has_them(
    modem: FakeModem, tmp_path: Path
) -> None:
    modem.receive("+33612345678", "Oui [ok] à 10€")  # GSM 7-bit with extension characters
    modem.receive("+33612345678", "Да, конечно")  # UCS-2
    modem.receive("+33698765432", LONG[:153], concat=(42, 2, 1))  # half of a long SMS
    async with Running(modem.gammurc(), tmp_path / "agent") as run:
        await run.until(lambda: len(run.of(IncomingSms)) == 2)
        await asyncio.sleep(0.5)  # polls go on: the long SMS waits for its second part
        assert len(run.of(IncomingSms)) == 2
        modem.receive("+33698765432", LONG[153:], concat=(42, 2, 2))
        await run.until(lambda: len(run.of(IncomingSms)) == 3)
        texts = {e.text: e for e in run.of(IncomingSms)}
        assert set(texts) == {"Oui [ok] à 10€", "Да, конечно", LONG}
        assert texts[LONG].sender == "+33698765432"

        await asyncio.sleep(0.3)
        assert len(modem.stored()) == 4  # nothing settled: everything stays
        run.driver.report_settled(texts["Да, конечно"].ref or "", stored=True)
        await run.until(lambda: len(modem.stored()) == 3)
        assert len(run.of(IncomingSms)) == 3  # polled again, not reported again

    # Restarted before the server answered: the same SMS, the same refs.
    async with Running(modem.gammurc(), tmp_path / "agent") as again:
        await again.until(lambda: len(again.of(IncomingSms)) == 2)
        assert {e.ref for e in again.of(IncomingSms)} == {
            texts["Oui [ok] à 10€"].ref, texts[LONG].ref}
        for event in again.of(IncomingSms):
            again.driver.report_settled(event.ref or "", stored=True)
        await again.until(lambda: modem.stored() == [])


async def test_a_send_the_modem_refuses_is_failed_and_stays_failed(
    modem: FakeModem, tmp_path: Path
) -> None:
    modem.refuse("+33600000000", cms_error=500)
    async with Running(modem.gammurc(), tmp_path / "agent") as run:
        await run.driver.send_sms("1.0", "+33600000000", "refused")
        await run.driver.send_sms("2.0", TO, "fine")
        await run.until(lambda: run.of(Failed) and run.of(Sent))
    [failed] = run.of(Failed)
    assert failed.command_id == "1.0" and "refused" in failed.reason
    assert [s.number for _, s in modem.submits()] == [TO]

    async with Running(modem.gammurc(), tmp_path / "agent") as again:
        with pytest.raises(NotSent, match="refused"):  # asked again: the same answer
            await again.driver.send_sms("1.0", "+33600000000", "refused")


async def test_modem_gone_mid_batch_nothing_lost_nothing_twice(
    modem: FakeModem, tmp_path: Path
) -> None:
    modem.unplug_after(2)
    async with Running(modem.gammurc(), tmp_path / "agent") as run:
        for i in range(5):
            await run.driver.send_sms(f"{i}.0", TO, f"batch {i}")
        await run.until(modem.unplugged)
        # libGammu notices on its next command's timeout: CI under a load of 10
        # once took over 20 s.
        await run.until(lambda: not run.driver.connected.is_set(), timeout=60)
        await asyncio.sleep(0.5)  # it keeps trying: the modem is not there
        assert len(run.of(Sent)) == 2 and not run.of(Failed)
        modem.plug_in()
        # Generous: under a loaded CI machine reopening the modem once took over 20 s.
        await run.until(lambda: len(run.of(Sent)) == 5, timeout=60)
    assert modem.texts_to(TO) == [f"batch {i}" for i in range(5)]
    assert not run.of(Failed)


async def test_asked_again_after_a_restart_it_sends_nothing_twice(
    modem: FakeModem, tmp_path: Path
) -> None:
    async with Running(modem.gammurc(), tmp_path / "agent") as run:
        await run.driver.send_sms("1.0", TO, "once")
        await run.driver.send_sms("1.0", TO, "once")  # a repeated hand-over
        await run.until(lambda: run.of(Sent))
        [(reference, _)] = modem.submits()
        modem.status_report(reference, TO)
        await run.until(lambda: run.of(Delivered))

    async with Running(modem.gammurc(), tmp_path / "agent") as again:
        await again.driver.send_sms("1.0", TO, "once")
        await again.until(lambda: again.of(Sent) and again.of(Delivered))
        await asyncio.sleep(0.3)
    assert modem.texts_to(TO) == ["once"]


async def test_sms_waiting_too_long_for_an_absent_modem_are_failed(
    modem: FakeModem, tmp_path: Path
) -> None:
    options = GammuOptions(poll_interval=0.1, reconnect_max=0.2, give_up_after=1)
    async with Running(modem.gammurc(), tmp_path / "agent", options) as run:
        modem.unplug_after(1)
        await run.driver.send_sms("1.0", TO, "goes")
        await run.driver.send_sms("2.0", TO, "waits")
        await run.until(lambda: run.of(Failed), timeout=10)
    [failed] = run.of(Failed)
    assert failed.command_id == "2.0" and "not sent within 1 s" in failed.reason
    assert modem.texts_to(TO) == ["goes"]


async def test_calls_ring_once_and_dial_goes_out(modem: FakeModem, tmp_path: Path) -> None:
    async with Running(modem.gammurc(), tmp_path / "agent", FAST) as run:
        modem.ring("+33698765432")
        await run.until(lambda: run.of(CallEvent))
        modem.ring("+33698765432")  # the next RING of the same call
        await asyncio.sleep(0.5)
        await run.driver.dial("9.0", "+33611111111")
        await run.until(lambda: len(run.of(CallEvent)) == 2)
    incoming, outgoing = run.of(CallEvent)
    assert (incoming.event, incoming.number, incoming.duration) == (
        "incoming_call", "+33698765432", "0")
    assert (outgoing.event, outgoing.number) == ("outgoing_call", "+33611111111")
    assert modem.dialed() == ["+33611111111"]
