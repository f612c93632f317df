"""The `simulator` driver: a virtual phone that "sends" SMS after a delay,
reports delivery later, fails a given share, and answers dial commands with
an outgoing call.

Like a real phone's "sent" box, `sent.log` in its folder lists every SMS its
radio transmitted, one command id a line, and survives restarts: a command id
it already transmitted is never transmitted again (the tests read the file to
check that nothing is sent twice). `sims.log` beside it says which SIM slot
each left from ("<command id> <slot>" a line). It has `sims` SIM slots, and
never transmits an SMS whose validity ended: it reports it failed.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simgate.device.drivers import (
    LAPSED,
    CallEvent,
    Capabilities,
    Delivered,
    DriverEvent,
    Failed,
    NotSent,
    Sent,
    lapsed,
)

DIALED_CALL_DURATION = "00:00:05"


@dataclass
class SimulatedPhone:
    folder: Path
    sent_delay: float = 0.5
    delivery_delay: float = 1.0
    fail_rate: float = 0.0
    fsync: bool = True  # a real radio's record is durable; benchmarks skip the cost
    rng: random.Random = field(default_factory=random.Random)
    sims: int = 1  # SIM slots, numbered from 1
    name: str = field(default="simulator", init=False)
    capabilities: Capabilities = field(init=False)

    def __post_init__(self) -> None:
        self.capabilities = Capabilities(
            delivery_reports=True,
            incoming_sms=False,
            call_events=True,
            dial=True,
            sim_slots=self.sims,
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "sent.log"
        self.transmitted = set(path.read_text().split()) if path.exists() else set()
        self._sent_log = open(path, "a", encoding="utf-8")  # noqa: SIM115
        self._sims_log = open(self.folder / "sims.log", "a", encoding="utf-8")  # noqa: SIM115
        self._events: asyncio.Queue[DriverEvent] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()

    async def send_sms(
        self,
        command_id: str,
        to: str,
        text: str,
        sim_slot: int | None = None,
        *,
        valid_until: datetime | None = None,
    ) -> None:
        if command_id not in self.transmitted:
            if lapsed(valid_until):
                raise NotSent(LAPSED)
            if sim_slot is not None and not 1 <= sim_slot <= self.sims:
                raise NotSent(f"SIM {sim_slot} is not in this phone (it has {self.sims})")
        self._spawn(self._radio(command_id, sim_slot or 1))

    async def dial(self, command_id: str, to: str) -> None:
        self._events.put_nowait(CallEvent("outgoing_call", to, DIALED_CALL_DURATION, _now()))

    async def events(self) -> AsyncIterator[DriverEvent]:
        while True:
            yield await self._events.get()

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._sent_log.close()
        self._sims_log.close()

    async def _radio(self, command_id: str, sim: int) -> None:
        # Asked again after a restart for an SMS the radio already sent: it
        # says so at once, and the delivery report follows as usual.
        if command_id not in self.transmitted:
            await asyncio.sleep(self.sent_delay)
            if self.rng.random() < self.fail_rate:
                self._events.put_nowait(Failed(command_id, "simulated radio failure", _now()))
                return
            self._transmit(command_id, sim)
        self._events.put_nowait(Sent(command_id, _now()))
        await asyncio.sleep(self.delivery_delay)
        self._events.put_nowait(Delivered(command_id, _now()))

    def _transmit(self, command_id: str, sim: int) -> None:
        self.transmitted.add(command_id)
        self._sims_log.write(f"{command_id} {sim}\n")
        self._sims_log.flush()
        self._sent_log.write(command_id + "\n")
        self._sent_log.flush()
        if self.fsync:
            os.fsync(self._sent_log.fileno())

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _now() -> datetime:
    return datetime.now(UTC)
