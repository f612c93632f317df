"""What `/metrics` reads from the store at each scrape (api/metrics.py): the
messages waiting by state, the webhooks pending and dead (bounded counts,
store/gauges.py), and the SQLite writer's queue."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from simgate.store import gauges
from simgate.store.db import sqlite_writer_queued

COUNT_CAP = gauges.COUNT_CAP
MESSAGE_STATES = gauges.MESSAGE_STATES
WEBHOOK_STATES = gauges.WEBHOOK_STATES


@dataclass(frozen=True, slots=True)
class StoreGauges:
    messages: dict[str, int]  # state → messages waiting (at most COUNT_CAP)
    webhooks: dict[str, int]  # state → webhooks (at most COUNT_CAP)
    writer_queue: int | None  # work waiting for the SQLite writer; None on PostgreSQL


def read(engine: Engine) -> StoreGauges:
    counts = gauges.read(engine)
    return StoreGauges(counts.messages, counts.webhooks, sqlite_writer_queued(engine))
