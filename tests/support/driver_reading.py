"""Reading a driver's events as the agent does, for driver tests without a server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from simgate.device.drivers import DriverEvent


class ClosableDriver(Protocol):
    def events(self) -> AsyncIterator[DriverEvent]: ...

    async def aclose(self) -> None: ...


class Reading:
    """The driver's events read one at a time, the next asked for once the
    previous is handled, as `Agent._follow_driver` does (which is when a
    driver moves its cursors); the driver is closed on the way out."""

    def __init__(self, driver: ClosableDriver) -> None:
        self.driver = driver
        self.events: list[DriverEvent] = []
        self._stream = driver.events()

    async def __aenter__(self) -> Reading:
        self._task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        async for event in self._stream:
            self.events.append(event)

    async def __aexit__(self, *exc: object) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self.driver.aclose()

    def of(self, command_id: str) -> list[str]:
        """Names of the events about one command, in order."""
        return [type(e).__name__ for e in self.events if getattr(e, "command_id", "") == command_id]


async def until(check: Callable[[], Any], timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {check}"
        await asyncio.sleep(0.02)
