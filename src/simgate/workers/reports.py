"""The report writer: frames from every device, applied in batches.

One transaction per batch (group commit) instead of one per frame; each frame
then gets its answer on its own socket. Two rules keep one device from hurting
the others:

- Fair batches: a batch takes frames from the waiting devices in turn, so a
  device that floods the server waits behind its own frames, not in front of
  everyone else's.
- Isolation: if the store refuses a batch, its frames are applied again one by
  one; a frame refused on its own gets an `error` frame with its ref (its
  device drops it) and the others are stored. A store that is down or busy
  refuses everything alike: the batch then waits and is tried again whole.

Each connection may have at most `hub.MAX_PENDING_REPORTS` frames waiting here; its
socket is not read further until some are answered (api/devices.py), so a
flood is held back by TCP instead of by the server's memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.concurrency import run_in_threadpool

from simgate.clock import Clock
from simgate.config import Settings
from simgate.device import protocol
from simgate.services.device_reports import Frame, Outcome, Reporter, apply_batch
from simgate.workers.hub import Link

if TYPE_CHECKING:
    from simgate.runtime import Runtime

log = logging.getLogger(__name__)
# Frames applied in one transaction at most: big enough that a flood of
# reports costs one commit per 500 (the commit is most of a small frame's
# cost), small enough that one batch holds the store well under a second.
MAX_BATCH = 500
# Waits between tries while the store is unavailable: the first ones short (a
# busy SQLite clears fast), then no more than one try every 5 s.
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)


class ReportQueue:
    """Frames waiting for the writer, one line per device, served in turn."""

    def __init__(self) -> None:
        self._lines: dict[Link, deque[Frame]] = {}
        self._turns: deque[Link] = deque()  # links with frames waiting, in turn order
        self._ready = asyncio.Event()

    def submit(self, link: Link, frame: Frame) -> None:
        line = self._lines.get(link)
        if line is None:
            line = self._lines[link] = deque()
            self._turns.append(link)
        line.append(frame)
        self._ready.set()

    def requeue(self, batch: list[tuple[Link, Frame]]) -> None:
        """Put a batch back in front (the store was unavailable)."""
        for link, frame in reversed(batch):
            line = self._lines.get(link)
            if line is None:
                line = self._lines[link] = deque()
                self._turns.appendleft(link)
            line.appendleft(frame)
        if batch:
            self._ready.set()

    async def take(self, limit: int = MAX_BATCH) -> list[tuple[Link, Frame]]:
        """Wait for frames, then take up to `limit`, one from each waiting device
        in turn: with ten devices waiting each gets a tenth of the batch, with
        one it gets all of it."""
        while not self._turns:
            self._ready.clear()
            await self._ready.wait()
        batch: list[tuple[Link, Frame]] = []
        while self._turns and len(batch) < limit:
            link = self._turns.popleft()
            line = self._lines[link]
            batch.append((link, line.popleft()))
            if line:
                self._turns.append(link)
            else:
                del self._lines[link]
        return batch

    def waiting(self) -> int:
        return sum(len(line) for line in self._lines.values())


def _transient(exc: BaseException) -> bool:
    """A store that is down, locked or gone away, as opposed to one row it refuses."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


async def run(runtime: Runtime, stop: asyncio.Event) -> None:
    """Worker entry point (runtime.py)."""
    reports = runtime.reports
    failures = 0
    while not stop.is_set():
        batch = await _take_until(reports, stop)
        if batch is None:
            return  # frames left are sent again by their devices after reconnecting
        try:
            outcomes = await _apply(runtime.engine, runtime.settings, runtime.clock, batch)
        except Exception as exc:
            if not _transient(exc):
                raise  # _apply answers every other refusal frame by frame
            # Keep the frames and try again once the store answers; applying again
            # what a frame-by-frame pass had stored is harmless (reports are idempotent).
            delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]
            failures += 1
            log.warning(
                "could not store %d device reports (%s); retrying in %.1fs",
                len(batch),
                type(exc).__name__,
                delay,
            )
            reports.requeue(batch)
            await asyncio.sleep(delay)
            continue
        failures = 0
        for link, frame in batch:  # before any await: the store has the last word now
            if isinstance(frame, protocol.Result):
                link.settling.discard(frame.message_id)
        # Messages these reports put back in the queue woke the dispatcher
        # when their transaction committed (workers/dispatcher.py).
        for (link, _frame), outcome in zip(batch, outcomes, strict=True):
            link.report_slots.release()
            if outcome.reply is not None:
                try:
                    await link.send(outcome.reply)
                except Exception:
                    pass  # the device re-sends the report after reconnecting


async def _take_until(reports: ReportQueue, stop: asyncio.Event) -> list[tuple[Link, Frame]] | None:
    """The next batch, or None once `stop` is set first."""
    taking = asyncio.ensure_future(reports.take())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([taking, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if taking.done():  # checked before cancelling: a batch taken is never dropped
        return taking.result()
    taking.cancel()
    return None


async def _apply(
    engine: Engine, settings: Settings, clock: Clock, batch: list[tuple[Link, Frame]]
) -> list[Outcome]:
    """Apply the batch whole; if the store refuses it, frame by frame."""
    items = [(Reporter(link.device_id, link.account), frame) for link, frame in batch]
    args = (settings.max_send_attempts, settings.result_timeout_seconds, clock.now())
    try:
        return await run_in_threadpool(apply_batch, engine, items, *args)
    except Exception as exc:
        if _transient(exc):
            raise
        if len(items) == 1:
            return [_refused(batch[0], exc)]
    outcomes = []
    for (link, frame), item in zip(batch, items, strict=True):
        try:
            outcomes += await run_in_threadpool(apply_batch, engine, [item], *args)
        except Exception as exc:
            if _transient(exc):
                raise  # the whole rest waits for the store, the stored part stays stored
            outcomes.append(_refused((link, frame), exc))
    return outcomes


def _refused(item: tuple[Link, Frame], exc: Exception) -> Outcome:
    link, frame = item
    log.error(
        "device %s: the store refused a %s frame (%s); told the device to drop it",
        link.device_id,
        type(frame).__name__,
        type(exc).__name__,
        exc_info=exc,
    )
    ref = None if isinstance(frame, protocol.Ack) else frame.ref  # a command ack has none
    return Outcome(protocol.error("rejected", "the server could not store this report", ref))
