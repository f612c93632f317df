"""The termux driver against fake Termux:API programs on PATH
(tests/support/termux_fake.py), without a simgate server: the commands it
runs, what it reports and what it refuses to claim, and that a restart never
sends twice nor reports twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from simgate.device.drivers import CallEvent, IncomingSms, NotSent, Sent
from simgate.device.drivers.termux import TermuxOptions, TermuxPhone
from simgate.device.drivers.termux_api import call_duration, local_time, same_number
from tests.support.driver_reading import Reading, until
from tests.support.termux_fake import FakeTermux

PHONE_OFFSET = timedelta(hours=7)  # the phone is not in UTC: times must be converted


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeTermux:
    termux = FakeTermux(tmp_path / "termux", PHONE_OFFSET)
    for name, value in termux.env().items():
        monkeypatch.setenv(name, value)
    return termux


def driver(fake: FakeTermux, folder: Path, **options: float) -> TermuxPhone:
    settings = {"poll": 0.05, "timeout": 2.0, "confirm": 5.0, **options}
    return TermuxPhone(TermuxOptions(**settings), folder, zone=fake.zone)  # type: ignore[arg-type]


# --- reading Termux:API output (pure) -----------------------------------------------


def test_local_times_durations_and_numbers() -> None:
    zone = timezone(timedelta(hours=7))
    assert local_time("2026-01-02 10:04:05", zone) == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert local_time("2026-01-02T10:04:05", zone) is None and local_time(None) is None
    assert [call_duration(d) for d in ("00:00", "01:05", "01:02:03", "x", None)] == [
        "0",
        "00:01:05",
        "01:02:03",
        "0",
        "0",
    ]
    assert same_number("+33 6 12 34 56 78", "+33612345678")
    assert same_number("0612345678", "+33612345678")
    assert not same_number("+33612345679", "+33612345678")


# --- against the fake programs ----------------------------------------------------------


async def test_an_sms_goes_through_termux_sms_send_and_is_sent_once_android_files_it(
    fake: FakeTermux, tmp_path: Path
) -> None:
    phone = driver(fake, tmp_path / "state", sim=2)
    async with Reading(phone) as reading:
        await until(lambda: phone.capabilities.sim_slots == 2)  # termux-telephony-deviceinfo
        await phone.send_sms("5.0", "+33612345678", "  Votre code : 1234 ✓\n")
        await until(lambda: reading.of("5.0") == ["Sent"])
        assert fake.calls("termux-wake-lock")
    [send] = fake.calls("termux-sms-send")
    assert send["argv"] == ["termux-sms-send", "-n", "+33612345678", "-s", "1"]  # 0-based slot
    assert fake.on_air() == [{"to": "+33612345678", "text": "Votre code : 1234 ✓", "slot": "1"}]
    [sent] = reading.events
    assert isinstance(sent, Sent) and abs(sent.at - datetime.now(UTC)) < timedelta(seconds=5)
    caps = phone.capabilities
    assert not caps.delivery_reports and caps.dial and caps.incoming_sms and caps.call_events
    assert fake.calls("termux-wake-unlock")  # released on the way out


async def test_what_android_files_as_failed_is_failed_and_what_it_does_not_file_is_sent(
    fake: FakeTermux, tmp_path: Path
) -> None:
    with fake.change() as state:
        state["fail_numbers"] = ["+33600000001"]
    phone = driver(fake, tmp_path / "state", confirm=0.5)
    async with Reading(phone) as reading:
        await phone.send_sms("1.0", "+33600000001", "will fail")
        await until(lambda: reading.of("1.0") == ["Failed"])
        with fake.change() as state:
            state["provider_writes"] = False  # some phones keep no Sent box for Termux
        await phone.send_sms("2.0", "+33600000002", "unconfirmed")
        await until(lambda: reading.of("2.0") == ["Sent"])  # after `confirm`: the best it knows
    assert "marks it failed" in reading.events[0].reason  # type: ignore[union-attr]
    assert [sms["text"] for sms in fake.on_air()] == ["unconfirmed"]


async def test_refusals_are_not_sent_and_a_hang_is_killed_and_never_retried(
    fake: FakeTermux, tmp_path: Path
) -> None:
    folder = tmp_path / "state"
    # The default 2 s to answer: the fake's commands are Python processes, and
    # under a loaded CI machine one took more than 0.5 s to start.
    phone = driver(fake, folder, confirm=0.3)
    async with Reading(phone) as reading:
        await until(lambda: phone.capabilities.sim_slots == 2)
        with pytest.raises(NotSent, match="SIM 3 is not in this phone"):
            await phone.send_sms("1.0", "+33612345678", "wrong SIM", sim_slot=3)
        with pytest.raises(NotSent, match="blank"):
            await phone.send_sms("2.0", "+33612345678", "   ")
        fake.fault("termux-sms-send", "error")  # a permission not granted
        with pytest.raises(NotSent, match="android.permission.SEND_SMS"):
            await phone.send_sms("3.0", "+33612345678", "no permission")
        fake.fault("termux-sms-send", "hang")  # the Termux:API app missing
        started = asyncio.get_running_loop().time()
        await phone.send_sms("4.0", "+33612345678", "hangs")  # perhaps sent: no NotSent
        assert asyncio.get_running_loop().time() - started < 5  # killed after 2 s
        await asyncio.sleep(0.6)  # past `confirm`: still nothing claimed
    assert reading.events == [] and fake.on_air() == []
    # Asked again after a restart: the refused one is failed again, the hung one
    # neither sent again nor claimed.
    fake.fault("termux-sms-send", None)
    again = driver(fake, folder, confirm=0.3)
    async with Reading(again) as reading:
        await again.send_sms("3.0", "+33612345678", "no permission")
        await again.send_sms("4.0", "+33612345678", "hangs")
        await until(lambda: reading.of("3.0") == ["Failed"])
        await asyncio.sleep(0.6)
    assert reading.of("4.0") == [] and len(fake.calls("termux-sms-send")) == 2


async def test_after_a_restart_an_sms_handed_over_is_confirmed_not_sent_again(
    fake: FakeTermux, tmp_path: Path
) -> None:
    folder = tmp_path / "state"
    with fake.change() as state:
        state["provider_writes"] = False  # Android files it late
    first = driver(fake, folder)
    async with Reading(first):
        await first.send_sms("9.0", "+33612345678", "only once")
    with fake.change() as state:
        state["provider_writes"] = True
        [sent] = state["on_air"]
        state["next_id"] += 1
        moment = datetime.now(UTC).timestamp()
        row = {"_id": state["next_id"], "kind": 2, "address": sent["to"], "date": moment}
        state["sms"].append(dict(row, body=sent["text"]))
    second = driver(fake, folder)
    async with Reading(second) as reading:
        await second.send_sms("9.0", "+33612345678", "only once")
        await until(lambda: reading.of("9.0") == ["Sent"])
    # Reported again by a third run (the agent had perhaps not journaled it).
    third = driver(fake, folder)
    async with Reading(third) as reading:
        await third.send_sms("9.0", "+33612345678", "only once")
        await until(lambda: reading.of("9.0") == ["Sent"])
    assert len(fake.calls("termux-sms-send")) == 1


async def test_incoming_sms_and_calls_are_reported_once_from_the_present_on(
    fake: FakeTermux, tmp_path: Path
) -> None:
    folder = tmp_path / "state"
    fake.receive_sms("+33600000000", "old news", at=datetime.now(UTC) - timedelta(days=1))
    fake.log_call("+33600000000", "MISSED", "00:00", at=datetime.now(UTC) - timedelta(days=1))
    phone = driver(fake, folder)
    stream = phone.events()
    first = asyncio.ensure_future(anext(stream))
    # The first look: what is there then is history.
    await until(lambda: '"sms_cursor": 3' in (folder / "termux.json").read_text())
    fake.receive_sms("+33698765432", "Oui 👍")
    sms = await asyncio.wait_for(first, 5)
    assert isinstance(sms, IncomingSms) and (sms.sender, sms.text) == ("+33698765432", "Oui 👍")
    assert abs(sms.at - datetime.now(UTC)) < timedelta(seconds=5)  # the phone's zone undone
    fake.log_call("+33698765432", "MISSED", "00:00")
    call = await asyncio.wait_for(anext(stream), 5)
    assert isinstance(call, CallEvent)
    assert (call.event, call.number, call.duration) == ("missed_call", "+33698765432", "0")
    await stream.aclose()  # type: ignore[attr-defined]  # the call not journaled yet
    await phone.aclose()

    fake.log_call("+33698765432", "INCOMING", "01:05")
    fake.log_call("+33698765432", "BLOCKED", "00:00")
    again = driver(fake, folder)
    async with Reading(again) as reading:
        await again.dial("1.0", "+33611112222")
        await until(lambda: len(reading.events) == 3)
        await asyncio.sleep(0.3)
    calls = [(e.event, e.number, e.duration) for e in reading.events if isinstance(e, CallEvent)]
    assert calls == [
        ("missed_call", "+33698765432", "0"),  # again: the agent had not taken it
        ("incoming_call", "+33698765432", "00:01:05"),
        ("outgoing_call", "+33611112222", "00:00:07"),  # the dial, from the call log
    ]
    assert not any(isinstance(e, IncomingSms) for e in reading.events)  # "Oui" was taken
    assert fake.calls("termux-telephony-call")[0]["argv"][1:] == ["+33611112222"]


async def test_commands_are_refused_sensibly_when_termux_api_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    phone = TermuxPhone(TermuxOptions(poll=0.05), tmp_path / "state")
    async with Reading(phone) as reading:
        with pytest.raises(NotSent, match="termux-sms-send could not start"):
            await phone.send_sms("1.0", "+33612345678", "hello")
        await asyncio.sleep(0.2)
    assert reading.events == []
