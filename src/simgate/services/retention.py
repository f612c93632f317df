"""Retention: which finished rows are old enough to go, and pruning them in batches.

Used by the pruning worker (workers/retention.py) and `simgate prune`. Each
batch is its own short write transaction; on SQLite it goes through the
engine's group-commit writer as heavy work (store/db.py), so the accepts
queued meanwhile commit first and wait for at most one batch. Between batches
the pruner rests in proportion to the last one (`pause`).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.config import Settings
from simgate.store import retention as store
from simgate.store.db import reading, run_write_async

Target = store.Target

SEND_COUNTS_KEPT = timedelta(days=2)


def pause(settings: Settings, batch_seconds: float) -> float:
    """Seconds to rest after a batch that took `batch_seconds` (waiting for the
    writer included), so that pruning takes at most `retention_store_share` of
    the store's time."""
    return batch_seconds * (1 / settings.retention_store_share - 1)


def cutoffs(settings: Settings, now: datetime) -> dict[Target, datetime | None]:
    """Per target, rows older than this are due; None keeps them for ever."""

    def days_ago(days: int) -> datetime | None:
        return now - timedelta(days=days) if days > 0 else None

    return {
        store.WEBHOOKS_DONE: days_ago(settings.retention_webhooks_done_days),
        store.WEBHOOKS_DEAD: days_ago(settings.retention_webhooks_dead_days),
        store.DEVICE_REFS: days_ago(settings.retention_device_refs_days),
        store.MESSAGE_EVENTS: days_ago(settings.retention_message_events_days),
        # An expired session can never be used again (services/sessions.py).
        store.EXPIRED_SESSIONS: now,
        # The caps read the last 27 hours; a day more is margin.
        store.SEND_COUNTS: now - SEND_COUNTS_KEPT,
    }


def count_due(engine: Engine, settings: Settings, now: datetime) -> dict[Target, int | None]:
    """What a prune would delete now (`simgate prune --dry-run`); None for kinds kept."""
    with reading(engine) as conn:
        return {
            target: None if cutoff is None else store.count_due(conn, target, cutoff)
            for target, cutoff in cutoffs(settings, now).items()
        }


async def prune(
    engine: Engine,
    settings: Settings,
    now: datetime,
    stop: asyncio.Event,
    clock: Clock = SYSTEM_CLOCK,
) -> dict[Target, int | None]:
    """Delete every due row, batch by batch, pausing between batches; None for kinds kept.

    Returns early, with what went so far, once `stop` is set.
    """
    limit = settings.retention_batch_rows
    removed: dict[Target, int | None] = {}
    for target, cutoff in cutoffs(settings, now).items():
        if cutoff is None:
            removed[target] = None
            continue

        def batch(conn: Connection, target: Target = target, cutoff: datetime = cutoff) -> int:
            return store.delete_batch(conn, target, cutoff, limit)

        total = 0
        while not stop.is_set():
            started = clock.monotonic()
            n = await run_write_async(engine, batch, heavy=True)
            total += n
            if n < limit:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause(settings, clock.monotonic() - started))
        removed[target] = total
    return removed
