"""Events in groups (drivers.GroupsEvents, _events.EventQueue.groups): the agent
journals everything ready at once with one fsync, and a driver's hooks run
only once their group is on disk."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from simgate.device import drivers
from simgate.device.agent import Agent
from simgate.device.drivers._events import EventQueue
from simgate.device.journal import Journal

AT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


class Grouped:
    """A driver that only yields what a test puts in its queue."""

    name = "grouped"
    capabilities = drivers.Capabilities(True, True, False, False)

    def __init__(self) -> None:
        self.queue = EventQueue()

    async def send_sms(self, *args: Any, **kwargs: Any) -> None: ...

    async def dial(self, command_id: str, to: str) -> None: ...

    def events(self) -> Any:
        return self.queue.stream()

    def event_groups(self) -> Any:
        return self.queue.groups()


async def test_a_group_is_journaled_with_one_fsync_before_its_hooks_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    monkeypatch.setattr("simgate.device.group_sync.os.fdatasync", synced.append)
    driver = Grouped()
    assert isinstance(driver, drivers.GroupsEvents)
    journal = Journal(tmp_path)
    agent = Agent("http://127.0.0.1:9", "sgd_x", driver, journal)
    sent: list[dict[str, Any]] = []

    async def send(frame: dict[str, Any]) -> None:
        sent.append(frame)

    agent._send = send  # type: ignore[method-assign]
    hooks: list[str] = []
    for n in range(10):
        driver.queue.put(drivers.Sent(f"{n}.0", AT))
        driver.queue.put(drivers.Delivered(f"{n}.0", AT))
    driver.queue.put(drivers.Sent("0.0", AT))  # told again: reported once
    driver.queue.put(
        drivers.IncomingSms("+33612000001", "Oui", AT, ref="m-1"),
        lambda: hooks.append(f"taken after {len(synced)} fsync(s)"),
    )
    following = asyncio.create_task(agent._follow_driver())
    try:
        await until(lambda: len(sent) == 21)
        assert len(synced) == 1
        # Run when the agent came back for more: with its group on disk.
        assert hooks == ["taken after 1 fsync(s)"]
        driver.queue.put(drivers.Sent("10.0", AT))
        await until(lambda: len(sent) == 22)
        assert len(synced) == 2
    finally:
        following.cancel()
        journal.close()
