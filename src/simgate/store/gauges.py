"""What `/metrics` reads from the store when scraped: how many messages wait
in each state before being sent, and how many webhooks are pending or dead.

Each count walks an index on `state` and stops at `COUNT_CAP` rows: a scrape
costs at most that many index entries per state, whatever the history holds
(the plans are asserted in tests/metrics/test_gauges.py). All of them are
read in one statement, one snapshot, beside the writer (`reading`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Label, Select, Table, func, literal, select

from simgate.store.db import reading
from simgate.store.tables import messages, webhooks

COUNT_CAP = 100_000
# States of a message not yet sent: waiting for its send date, for a phone,
# or handed to a phone (acknowledged or not).
MESSAGE_STATES = ("scheduled", "queued", "dispatched")
WEBHOOK_STATES = ("pending", "dead")


@dataclass(frozen=True, slots=True)
class Counts:
    messages: dict[str, int]
    webhooks: dict[str, int]


def _capped(table: Table, state: str, label: str) -> Label[int]:
    rows = select(literal(1)).where(table.c.state == state).limit(COUNT_CAP).subquery()
    return select(func.count()).select_from(rows).scalar_subquery().label(label)


def statement() -> Select[Any]:
    """One SELECT of every capped count (a column per state)."""
    columns: list[Any] = [_capped(messages, s, f"m_{s}") for s in MESSAGE_STATES]
    columns += [_capped(webhooks, s, f"w_{s}") for s in WEBHOOK_STATES]
    query: Select[Any] = select(*columns)
    return query


def read(engine: Engine) -> Counts:
    with reading(engine) as conn:
        row = conn.execute(statement()).one()
    values = row._mapping
    return Counts(
        messages={s: int(values[f"m_{s}"]) for s in MESSAGE_STATES},
        webhooks={s: int(values[f"w_{s}"]) for s in WEBHOOK_STATES},
    )
