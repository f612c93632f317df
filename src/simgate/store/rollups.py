"""Reading the message rollups (message_counts, campaign_counts and their
pending deltas), and folding the deltas in on PostgreSQL (list_counts' too:
store/lists.py reads those).

The triggers of migration 0008 keep the rollups; nothing else writes them.
A read sums the counts and the pending deltas in ONE statement, so that it
sees one snapshot on PostgreSQL: a delta is either still pending or already
folded in, never both or neither. Ranges that do not start or end on an hour
count their edges from the messages ((account_id, created_at) index), at most
two hours of rows (domain/rollups.split).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, case, func, select, text, true, union_all

from simgate.domain.rollups import (
    CAMPAIGN_CLICKS,
    CAMPAIGN_RECIPIENTS,
    DELIVERED,
    NOT_SENT,
    SENT,
    floor_hour,
    split,
)
from simgate.store.tables import (
    activity_count_deltas,
    activity_counts,
    campaign_count_deltas,
    campaign_counts,
    contact_count_deltas,
    contact_counts,
    list_count_deltas,
    list_counts,
    message_count_deltas,
    message_counts,
    messages,
)

# What compact folds: (deltas, counts), the activity rollups' (store/activity.py)
# and the lists' member counts (store/lists.py) too.
_FOLDED = (
    (message_count_deltas, message_counts),
    (campaign_count_deltas, campaign_counts),
    (activity_count_deltas, activity_counts),
    (contact_count_deltas, contact_counts),
    (list_count_deltas, list_counts),
)

# (state, reached) → n; and the same per hour.
Tally = Counter[tuple[str, int]]

_REACHED = case(
    (messages.c.delivered_at.is_not(None), DELIVERED),
    (messages.c.sent_at.is_not(None), SENT),
    else_=NOT_SENT,
)


def _rolled(account_id: int, since: datetime | None, until: datetime | None) -> Any:
    """Counts and pending deltas of whole hours in [since, until), as one subquery."""
    parts = []
    for table in (message_counts, message_count_deltas):
        query = select(table.c.hour, table.c.state, table.c.reached, table.c.n).where(
            table.c.account_id == account_id
        )
        if since is not None:
            query = query.where(table.c.hour >= since)
        if until is not None:
            query = query.where(table.c.hour < until)
        parts.append(query)
    return union_all(*parts).subquery("rolled")


def _direct(account_id: int, since: datetime | None, until: datetime | None) -> Any:
    query = select(messages.c.created_at, messages.c.state, _REACHED.label("reached")).where(
        messages.c.account_id == account_id
    )
    if since is not None:
        query = query.where(messages.c.created_at >= since)
    if until is not None:
        query = query.where(messages.c.created_at < until)
    return query.subquery("direct")


def tally(
    conn: Connection, account_id: int, since: datetime | None, until: datetime | None
) -> Tally:
    """The account's messages accepted in [since, until), by (state, reached)."""
    found: Tally = Counter()
    pieces = split(since, until)
    if pieces.whole is not None:
        rolled = _rolled(account_id, *pieces.whole)
        query = select(rolled.c.state, rolled.c.reached, func.sum(rolled.c.n)).group_by(
            rolled.c.state, rolled.c.reached
        )
        for state, reached, n in conn.execute(query):
            found[state, int(reached)] += int(n)
    for edge in pieces.edges:
        direct = _direct(account_id, *edge)
        query = select(direct.c.state, direct.c.reached, func.count()).group_by(
            direct.c.state, direct.c.reached
        )
        for state, reached, n in conn.execute(query):
            found[state, int(reached)] += int(n)
    return found


def hourly_tally(conn: Connection, account_id: int, since: datetime) -> dict[datetime, Tally]:
    """The account's messages accepted from `since` on, per UTC hour (a
    partial first hour counts only from `since`)."""
    found: dict[datetime, Tally] = {}
    pieces = split(since, None)
    assert pieces.whole is not None
    rolled = _rolled(account_id, *pieces.whole)
    query = select(rolled.c.hour, rolled.c.state, rolled.c.reached, func.sum(rolled.c.n)).group_by(
        rolled.c.hour, rolled.c.state, rolled.c.reached
    )
    rows: list[tuple[Any, ...]] = [tuple(row) for row in conn.execute(query)]
    for edge_since, edge_until in pieces.edges:
        direct = _direct(account_id, edge_since, edge_until)
        assert edge_since is not None
        hour = floor_hour(edge_since)
        query = select(direct.c.state, direct.c.reached, func.count()).group_by(
            direct.c.state, direct.c.reached
        )
        rows.extend((hour, state, reached, n) for state, reached, n in conn.execute(query))
    for hour, state, reached, n in rows:
        found.setdefault(hour, Counter())[state, int(reached)] += int(n)
    return found


def states_by_campaign(conn: Connection, campaign_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """campaign id → message state → how many (states with none left out)."""
    found = _campaign_counts(conn, campaign_ids)
    for counts in found.values():
        counts.pop(CAMPAIGN_CLICKS, None)
        counts.pop(CAMPAIGN_RECIPIENTS, None)
    return found


def clicks_by_campaign(conn: Connection, campaign_ids: Iterable[int]) -> dict[int, int]:
    """campaign id → clicks by people on its tracked links (none left out)."""
    found = _campaign_counts(conn, campaign_ids, CAMPAIGN_CLICKS)
    return {i: n for i, counts in found.items() if (n := counts.get(CAMPAIGN_CLICKS, 0))}


def recipients_by_campaign(conn: Connection, campaign_ids: Iterable[int]) -> dict[int, int]:
    """campaign id → how many recipients it was made with (none left out)."""
    found = _campaign_counts(conn, campaign_ids, CAMPAIGN_RECIPIENTS)
    return {i: n for i, counts in found.items() if (n := counts.get(CAMPAIGN_RECIPIENTS, 0))}


def _campaign_counts(
    conn: Connection, campaign_ids: Iterable[int], key: str | None = None
) -> dict[int, dict[str, int]]:
    """campaign id → key → how many, counts and pending deltas summed; only
    `key` if given."""
    ids = list(campaign_ids)
    found: dict[int, dict[str, int]] = {i: {} for i in ids}
    if not ids:
        return found
    parts = [
        select(table.c.campaign_id, table.c.state, table.c.n).where(
            table.c.campaign_id.in_(ids), true() if key is None else table.c.state == key
        )
        for table in (campaign_counts, campaign_count_deltas)
    ]
    rolled = union_all(*parts).subquery("rolled")
    total = func.sum(rolled.c.n)
    query = (
        select(rolled.c.campaign_id, rolled.c.state, total)
        .group_by(rolled.c.campaign_id, rolled.c.state)
        .having(total != 0)
    )
    for campaign_id, state, n in conn.execute(query):
        found[int(campaign_id)][state] = int(n)
    return found


# One compaction at a time across nodes: two would take the counters' row
# locks in their own orders. The key is arbitrary, fixed ("simgate rollups").
_COMPACTION_LOCK = 0x5349_4D47_524F_4C4C

_FOLD = """
WITH gone AS (DELETE FROM {deltas} RETURNING {keys}, n)
INSERT INTO {counts} ({keys}, n)
SELECT {keys}, sum(n) FROM gone GROUP BY {keys} ORDER BY {keys}
ON CONFLICT ({keys}) DO UPDATE SET n = {counts}.n + excluded.n
"""


def _fold(deltas: Table, counts: Table) -> str:
    keys = ", ".join(column.name for column in counts.primary_key.columns)
    return _FOLD.format(deltas=deltas.name, counts=counts.name, keys=keys)


def compact(conn: Connection) -> bool:
    """Fold the pending deltas into the counts (PostgreSQL; SQLite has none).
    Returns False when another node was doing it already."""
    if conn.dialect.name != "postgresql":
        return True
    locked = conn.execute(select(func.pg_try_advisory_xact_lock(_COMPACTION_LOCK))).scalar_one()
    if not locked:
        return False
    # Rows a concurrent transaction appends meanwhile are not seen by the
    # DELETE: they wait for the next round, counted by reads until then.
    for deltas, counts in _FOLDED:
        conn.execute(text(_fold(deltas, counts)))
    return True


def vacuum_deltas(engine: Engine) -> None:
    """VACUUM the deltas tables after a fold (PostgreSQL). A fold leaves every
    row it took dead, and reads walk dead index entries until a vacuum (15 ms
    for 50,000 of them); autovacuum comes by once a minute at best. The tables
    are a few pages: this costs little. Another node's vacuum is skipped."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "VACUUM (SKIP_LOCKED) " + ", ".join(deltas.name for deltas, _ in _FOLDED)
        )
