"""The way a polling driver hands events to the agent without losing or repeating one.

A driver that reads a phone's inbox or call log keeps a cursor (how far it has
read). If it moved the cursor as soon as it found a new SMS, a crash before the
agent had written the report to its journal would lose that SMS; if it moved it
later, a crash could report it twice. The agent reads events one at a time and
asks for the next only once it has journaled the previous one
(`Agent._follow_driver`), so the moment it asks again is the moment the cursor
may move: each event carries a hook that runs then.

`groups` hands out everything that is ready at once instead, for an agent
that journals a group with one fsync (drivers.GroupsEvents): the hooks of a
group run when the agent asks for the next group.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from simgate.device.drivers import DriverEvent

Hook = Callable[[], None]


class EventQueue:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[tuple[DriverEvent, Hook | None]] = asyncio.Queue()

    def put(self, event: DriverEvent, taken: Hook | None = None) -> None:
        """Queue `event`; `taken` runs once the agent has reported it."""
        self._queue.put_nowait((event, taken))

    async def stream(self) -> AsyncIterator[DriverEvent]:
        while True:
            event, taken = await self._queue.get()
            yield event
            # The agent is back for the next one: it has journaled this one.
            if taken is not None:
                taken()

    async def groups(self) -> AsyncIterator[list[DriverEvent]]:
        while True:
            taken_now = [await self._queue.get()]
            while not self._queue.empty():
                taken_now.append(self._queue.get_nowait())
            yield [event for event, _ in taken_now]
            # The agent is back for the next group: it has journaled this one.
            for _, taken in taken_now:
                if taken is not None:
                    taken()
