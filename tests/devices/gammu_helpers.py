"""Running the gammu driver in a test's event loop and reading its events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from simgate.device.drivers import DriverEvent

pytest.importorskip(
    "gammu", reason="python-gammu is not installed: pip install 'simgate[gammu]' (the test extra)"
)

from simgate.device.drivers.gammu.driver import GammuDriver, GammuOptions  # noqa: E402
from simgate.device.drivers.gammu.modem import ModemConfig  # noqa: E402

FAST = GammuOptions(poll_interval=0.1, reconnect_max=0.3)


class Running:
    """A driver and the events it reported so far."""

    def __init__(self, gammurc: Path, folder: Path, options: GammuOptions = FAST) -> None:
        self.driver = GammuDriver(ModemConfig(config_file=gammurc), folder, options)
        self.events: list[DriverEvent] = []
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Running:
        self._reader = asyncio.create_task(self._read(self.driver.events()))
        await asyncio.wait_for(self.driver.connected.wait(), 15)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._reader is not None
        self._reader.cancel()
        self.driver.close()
        # The worker thread finishes its call and closes the modem (the fake
        # modem process exits) before the next test opens another.
        await asyncio.to_thread(self.driver.wait_closed)

    async def _read(self, events: AsyncIterator[DriverEvent]) -> None:
        async for event in events:
            self.events.append(event)

    async def until(self, check: Callable[[], Any], timeout: float = 20) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while not (value := check()):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out; events so far: {self.events}")
            await asyncio.sleep(0.02)
        return value

    def of(self, kind: type[Any]) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]
