"""The agent drives any `Driver` (device/drivers): it reports what the driver
says and claims only what the driver can do. The agent runs in this test's
event loop against a real server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from simgate.config import Settings
from simgate.device.agent import Agent
from simgate.device.drivers import Capabilities, DriverEvent, IncomingSms, NotSent, Sent
from simgate.device.journal import Journal
from simgate.services.accounts import create_account
from simgate.services.devices import add_device
from simgate.store.tables import incoming_sms, messages
from tests.support.servers import LiveServer


class BasicModem:
    """A driver that sends at once, never learns about delivery, cannot dial,
    receives SMS, and refuses texts that say "refuse"."""

    name = "basic-modem"
    capabilities = Capabilities(
        delivery_reports=False, incoming_sms=True, call_events=False, dial=False
    )

    def __init__(self) -> None:
        self.asked: list[str] = []
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
        self.asked.append(command_id)
        if text == "refuse":
            raise NotSent("no credit left")
        self.queue.put_nowait(Sent(command_id, datetime.now(UTC)))

    async def dial(self, command_id: str, to: str) -> None:
        raise AssertionError("never asked: it does not say it can dial")

    async def events(self) -> AsyncIterator[DriverEvent]:
        while True:
            yield await self.queue.get()


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings, heartbeat_seconds=0.3, max_send_attempts=2) as server:
        yield server


async def until(check: Callable[[], Any], timeout: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {check}"
        await asyncio.sleep(0.05)


def state_by_text(live: LiveServer) -> dict[str, tuple[str, str | None]]:
    with live.engine.connect() as conn:
        rows = conn.execute(select(messages.c.message, messages.c.state, messages.c.fail_reason))
        return {r.message: (r.state, r.fail_reason) for r in rows}


def received(live: LiveServer) -> list[str]:
    with live.engine.connect() as conn:
        return list(conn.execute(select(incoming_sms.c.text)).scalars())


async def test_a_driver_without_delivery_reports_leaves_messages_sent(
    live: LiveServer, tmp_path: Path
) -> None:
    account, key = create_account(live.engine, "owner@example.com", "Europe/Paris", "FR")
    token = add_device(live.engine, account.email, "modem", 6000)[1]
    header = {"login": account.email, "accessKey": key}
    items = [
        {"phone_number": "+33612345678", "message": "hello"},
        {"phone_number": "+33612345679", "message": "refuse"},
    ]
    clic = {"header": {**header, "type": "clicToCall", "phone_number": "0612345678"}}

    modem = BasicModem()
    journal = Journal(tmp_path / "agent")
    agent = Agent(live.url, token, modem, journal)
    stop = asyncio.Event()
    running = asyncio.create_task(agent.run(stop))
    try:
        await asyncio.wait_for(agent.connected.wait(), 10)
        answers = live.post("/api/v1/sendsms", json={"header": header, "messages": items}).json()
        assert [a["sent"] for a in answers] == [1, 1]
        await until(lambda: state_by_text(live)["hello"][0] == "sent")
        # Refused by the driver: reported failed with its reason, tried again, failed.
        await until(lambda: state_by_text(live)["refuse"][0] == "failed")
        assert state_by_text(live)["refuse"] == ("failed", "no credit left")

        modem.queue.put_nowait(IncomingSms("+33698765432", "Oui", datetime.now(UTC)))
        await until(lambda: received(live) == ["Oui"])
        # It did not say "call": click-to-call finds no phone to dial with.
        assert live.post("/api/v1/clicTocall", json=clic).json()[0]["errors"] == ["#002"]
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
        journal.close()
    assert state_by_text(live)["hello"] == ("sent", None)  # no delivery report ever came

    # Restarted, the agent asks the driver about nothing: the sent SMS are done.
    again = BasicModem()
    journal = Journal(tmp_path / "agent")
    assert Agent(live.url, token, again, journal).resume == []
    journal.close()
