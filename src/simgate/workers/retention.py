"""The pruner: deletes finished rows past their retention, at start and then every
`retention_interval_seconds` (services/retention.py; docs/retention.md).

Every node runs one; on PostgreSQL they share the work (SKIP LOCKED).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from simgate.services import retention

if TYPE_CHECKING:
    from simgate.runtime import Runtime

log = logging.getLogger(__name__)

# After a failed run (the store down, say), try again this soon rather than
# a whole interval later.
RETRY_SECONDS = 60.0


async def run(runtime: Runtime, stop: asyncio.Event) -> None:
    """Worker entry point (runtime.py)."""
    engine, settings, clock = runtime.engine, runtime.settings, runtime.clock
    while not stop.is_set():
        wait = settings.retention_interval_seconds
        try:
            removed = await retention.prune(engine, settings, clock.now(), stop, clock)
        except Exception:
            log.exception("pruning failed; trying again in %.0f s", RETRY_SECONDS)
            wait = min(wait, RETRY_SECONDS)
        else:
            for target, n in removed.items():
                if n:
                    log.info("pruned %d %s", n, target.label, extra={"action": "prune"})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)
