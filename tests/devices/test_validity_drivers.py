"""What each driver makes of a send_sms command's `valid_until` and `sim`
(docs/device-protocol.md, docs/policy.md): passed on to a sender that
understands it, else a stale SMS refused before it goes on the air."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from simgate.config import Settings
from simgate.device.agent import Agent
from simgate.device.drivers import LAPSED, Capabilities, DriverEvent, NotSent, Sent, lapsed
from simgate.device.drivers.simulator import SimulatedPhone
from simgate.device.drivers.smsgate_local import PhoneApi, SmsGateLocal
from simgate.device.drivers.termux import TermuxOptions, TermuxPhone
from simgate.device.journal import Journal
from simgate.services.accounts import create_account
from simgate.services.devices import add_device
from simgate.store import devices as device_store
from tests.support.driver_reading import Reading, until
from tests.support.servers import LiveServer
from tests.support.smsgate_local_phone import FakeSmsGateApp
from tests.support.termux_fake import FakeTermux

FAST = {"poll": 0.03, "inbox_poll": 0.03, "timeout": 2.0}


def utc_naive(delta: timedelta) -> datetime:
    return (datetime.now(UTC) + delta).replace(tzinfo=None)


PAST, FUTURE = utc_naive(-timedelta(seconds=1)), utc_naive(timedelta(hours=1))


def test_lapsed_reads_naive_utc() -> None:
    assert lapsed(PAST) and not lapsed(FUTURE) and not lapsed(None)


# --- simulator ------------------------------------------------------------------------


async def test_the_simulator_sends_from_the_slot_asked_and_refuses_stale_or_missing(
    tmp_path: Path,
) -> None:
    phone = SimulatedPhone(tmp_path, sent_delay=0.01, delivery_delay=0.01, fsync=False, sims=2)
    assert phone.capabilities.sim_slots == 2
    try:
        await phone.send_sms("1.0", "+33612345678", "from 2", 2, valid_until=FUTURE)
        await phone.send_sms("2.0", "+33612345678", "default")
        with pytest.raises(NotSent, match=LAPSED):
            await phone.send_sms("3.0", "+33612345678", "stale", valid_until=PAST)
        with pytest.raises(NotSent, match="SIM 3"):
            await phone.send_sms("4.0", "+33612345678", "no such SIM", 3)
        await until(lambda: len(phone.transmitted) == 2)
    finally:
        phone.close()
    assert sorted((tmp_path / "sims.log").read_text().split("\n")[:-1]) == ["1.0 2", "2.0 1"]
    assert set((tmp_path / "sent.log").read_text().split()) == {"1.0", "2.0"}


# --- smsgate-local ----------------------------------------------------------------------


@pytest.fixture
def app() -> Iterator[FakeSmsGateApp]:
    with FakeSmsGateApp(step=0.02) as fake:
        yield fake


async def test_smsgate_local_posts_valid_until_and_the_sim(
    app: FakeSmsGateApp, tmp_path: Path
) -> None:
    api = PhoneApi(app.url, app.user, app.password, **FAST)  # type: ignore[arg-type]
    phone = SmsGateLocal(api, tmp_path)
    until_at = datetime(2099, 1, 2, 3, 4, 5, 678000)
    async with Reading(phone) as reading:
        await phone.send_sms("7.0", "+33612345678", "soon", 2, valid_until=until_at)
        with pytest.raises(NotSent, match=LAPSED):  # the app would answer 400
            await phone.send_sms("8.0", "+33612345678", "stale", valid_until=PAST)
        await until(lambda: reading.of("7.0")[:1] == ["Sent"])
    [post] = app.posts
    assert post["validUntil"] == "2099-01-02T03:04:05.678Z" and post["simNumber"] == 2


async def test_smsgate_local_posts_no_validity_when_there_is_none(
    app: FakeSmsGateApp, tmp_path: Path
) -> None:
    api = PhoneApi(app.url, app.user, app.password, **FAST)  # type: ignore[arg-type]
    phone = SmsGateLocal(api, tmp_path)
    async with Reading(phone) as reading:
        await phone.send_sms("9.0", "+33612345678", "plain")
        await until(lambda: reading.of("9.0")[:1] == ["Sent"])
    [post] = app.posts
    assert "validUntil" not in post and "simNumber" not in post


# --- termux -------------------------------------------------------------------------------


async def test_termux_sends_from_the_slot_asked_zero_based_and_refuses_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeTermux(tmp_path / "termux", timedelta(hours=7))
    for name, value in fake.env().items():
        monkeypatch.setenv(name, value)
    options: Any = {"poll": 0.05, "timeout": 2.0, "confirm": 5.0, "sim": 2}
    phone = TermuxPhone(TermuxOptions(**options), tmp_path / "state", zone=fake.zone)
    async with Reading(phone) as reading:
        await until(lambda: phone.capabilities.sim_slots == 2)
        with pytest.raises(NotSent, match=LAPSED):
            await phone.send_sms("5.0", "+33612345678", "stale", 1, valid_until=PAST)
        await phone.send_sms("6.0", "+33612345678", "from 1", 1, valid_until=FUTURE)
        await until(lambda: reading.of("6.0") == ["Sent"])
    [send] = fake.calls("termux-sms-send")
    assert send["argv"] == ["termux-sms-send", "-n", "+33612345678", "-s", "0"]


# --- the agent between server and driver --------------------------------------------------


class TwoSimModem:
    """Records what the agent asks of it; two SIM slots."""

    name = "two-sim-modem"
    capabilities = Capabilities(
        delivery_reports=False, incoming_sms=False, call_events=False, dial=False, sim_slots=2
    )

    def __init__(self) -> None:
        self.asked: list[tuple[str, int | None, datetime | None]] = []
        self.queue: asyncio.Queue[DriverEvent] = asyncio.Queue()

    async def send_sms(
        self,
        command_id: str,
        to: str,
        text: str,
        sim_slot: int | None = None,
        *,
        valid_until: datetime | None = None,
    ) -> None:
        self.asked.append((text, sim_slot, valid_until))
        self.queue.put_nowait(Sent(command_id, datetime.now(UTC)))

    async def dial(self, command_id: str, to: str) -> None:
        raise AssertionError("it cannot dial")

    async def events(self) -> AsyncIterator[DriverEvent]:
        while True:
            yield await self.queue.get()


async def test_the_agent_declares_the_drivers_sims_and_passes_sim_and_validity(
    settings: Settings, tmp_path: Path
) -> None:
    with LiveServer(settings) as live:
        account, key = create_account(live.engine, "agent@example.com", "Europe/Paris", "FR")
        device_id, token = add_device(live.engine, account.email, "modem", 6000)
        modem, journal = TwoSimModem(), Journal(tmp_path / "agent")
        agent = Agent(live.url, token, modem, journal)
        stop = asyncio.Event()
        running = asyncio.create_task(agent.run(stop))
        try:
            await asyncio.wait_for(agent.connected.wait(), 10)
            with live.engine.connect() as conn:
                assert device_store.sims_of(conn, [device_id])[device_id].slots == {1, 2}
            until_at = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
            items = [
                {
                    "phone_number": "+33612345678",
                    "message": "second SIM",
                    "sim": 2,
                    "valid_until": until_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
                {"phone_number": "+33612345678", "message": "plain"},
            ]
            header = {"login": account.email, "accessKey": key}
            answers = live.post("/api/v1/sendsms", json={"header": header, "messages": items})
            assert [a["sent"] for a in answers.json()] == [1, 1]
            await until(lambda: len(modem.asked) == 2)
        finally:
            stop.set()
            await asyncio.wait_for(running, 10)
            journal.close()
    asked = {text: (sim, valid) for text, sim, valid in modem.asked}
    assert asked["second SIM"] == (2, until_at.replace(tzinfo=None))
    assert asked["plain"] == (None, None)
