"""The rollup compactor (PostgreSQL only): every COMPACT_SECONDS, folds the
deltas that the triggers on `messages` append into the counts they add up to
(store/rollups.compact), so that a read sums a few pending rows, not every
change since the start.

Its own worker rather than a step of the dispatcher's sweep: the sweep's
transaction is on the path of every hand-over and should stay short, and the
pruner runs hourly, too seldom. Every node runs one; an advisory lock lets
one node at a time fold, the others skip that round. On SQLite the triggers
add to the counts in place and this worker is not started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import anyio

from simgate.store import rollups
from simgate.store.db import run_write_async

if TYPE_CHECKING:
    from simgate.runtime import Runtime

log = logging.getLogger(__name__)

COMPACT_SECONDS = 5.0


async def run(runtime: Runtime, stop: asyncio.Event) -> None:
    """Worker entry point (runtime.py)."""
    while not stop.is_set():
        try:
            if await run_write_async(runtime.engine, rollups.compact):
                await anyio.to_thread.run_sync(rollups.vacuum_deltas, runtime.engine)
        except Exception:
            log.exception("folding the rollups' deltas failed; trying again")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), COMPACT_SECONDS)
