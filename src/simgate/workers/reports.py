"""The report writer: frames from every device, applied in batches.

One transaction per batch (group commit) instead of one per frame; each frame
then gets its answer on its own socket.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from simgate.services.device_reports import Reporter, apply_batch
from simgate.workers.hub import Link

log = logging.getLogger(__name__)
MAX_BATCH = 500


class ReportQueue:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[Link, dict[str, Any]]] = asyncio.Queue()

    def submit(self, link: Link, frame: dict[str, Any]) -> None:
        self.queue.put_nowait((link, frame))


async def run(app: FastAPI, stop: asyncio.Event) -> None:
    reports: ReportQueue = app.state.reports
    settings = app.state.settings
    while not stop.is_set():
        first = await reports.queue.get()
        batch = [first]
        while len(batch) < MAX_BATCH and not reports.queue.empty():
            batch.append(reports.queue.get_nowait())
        items = [(Reporter(link.device_id, link.account), frame) for link, frame in batch]
        try:
            outcomes = await run_in_threadpool(
                apply_batch,
                app.state.engine,
                items,
                settings.max_send_attempts,
                settings.result_timeout_seconds,
            )
        except Exception:
            # Nothing was committed; the devices re-send unacknowledged reports.
            log.exception("could not store %d device reports", len(batch))
            await asyncio.sleep(0.5)
            continue
        requeued = False
        for (link, _frame), outcome in zip(batch, outcomes, strict=True):
            requeued |= outcome.requeued
            if outcome.reply is not None:
                try:
                    await link.send(outcome.reply)
                except Exception:
                    pass  # the device re-sends the report after reconnecting
        if requeued:
            app.state.wake_dispatcher()
