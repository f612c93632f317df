"""Reading the activity rollups (activity_counts, contact_counts and their
pending deltas; migration 0008, domain/activity.py): an account's received
SMS, clicks, calls and qualification labels over a time range, and its live
contacts, without counting its history.

As for the message rollups (store/rollups.py): whole hours come from the
counts and the pending deltas summed in ONE statement (one snapshot on
PostgreSQL), and the edges of a range that does not fall on the hour are
counted from the rows, into the same keys. SQLite has no deltas (its
triggers add in place): its reads leave them out, which spares a UNION that
made SQLite copy every row before grouping (a third of a read's time).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, Text, column, func, select, union_all, values

from simgate.domain.activity import (
    CLICKS,
    PREVIEWS,
    RECEIVED,
    LabelKey,
    LabelTotal,
    by_label,
    call_key,
    is_label,
    label_key,
    parse_label,
    qualified_key,
)
from simgate.domain.rollups import split
from simgate.store import calls as call_store
from simgate.store import stats as stats_store
from simgate.store.tables import (
    activity_count_deltas,
    activity_counts,
    contact_count_deltas,
    contact_counts,
    qualifications,
)


def _tables(conn: Connection, counts: Table, deltas: Table) -> tuple[Table, ...]:
    return (counts, deltas) if conn.dialect.name == "postgresql" else (counts,)


def _rolled(
    conn: Connection,
    account_id: int,
    since: datetime | None,
    until: datetime | None,
    labels: bool,
) -> Any:
    """Counts and pending deltas of the whole hours in [since, until)."""
    parts = []
    for table in _tables(conn, activity_counts, activity_count_deltas):
        query = select(table.c.key, table.c.n).where(table.c.account_id == account_id)
        if since is not None:
            query = query.where(table.c.hour >= since)
        if until is not None:
            query = query.where(table.c.hour < until)
        if not labels:
            query = query.where(table.c.key.not_like("label%"))
        parts.append(query)
    return (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("rolled")


def tally(
    conn: Connection,
    account_id: int,
    since: datetime | None,
    until: datetime | None,
    labels: bool = False,
) -> Counter[str]:
    """The account's activity in [since, until), by key; the qualification
    labels only if `labels`."""
    found: Counter[str] = Counter()
    pieces = split(since, until)
    if pieces.whole is not None:
        rolled = _rolled(conn, account_id, *pieces.whole, labels)
        query = select(rolled.c.key, func.sum(rolled.c.n)).group_by(rolled.c.key)
        for key, n in conn.execute(query):
            found[key] += int(n)
    for edge_since, edge_until in pieces.edges:
        _count_rows(conn, account_id, edge_since, edge_until, labels, found)
    return +found


def _count_rows(
    conn: Connection,
    account_id: int,
    since: datetime | None,
    until: datetime | None,
    labels: bool,
    found: Counter[str],
) -> None:
    """Add the activity of [since, until) counted from the rows (an edge)."""
    found[RECEIVED] += stats_store.received_count(conn, account_id, since, until)
    people, previews = stats_store.click_counts(conn, account_id, since, until)
    found[CLICKS] += people
    found[PREVIEWS] += previews
    for kind in call_store.counts_by_kind(conn, account_id, since, until):
        found[call_key(kind.kind)] += kind.calls
        found[qualified_key(kind.kind)] += kind.qualified
    if labels:
        for text, option_id, n in call_store.counts_by_text(conn, account_id, since, until):
            found[label_key(option_id, text)] += n


def label_totals(conn: Connection, account_id: int, found: Counter[str]) -> list[LabelTotal]:
    """The qualification labels of a tally, most used first, then by text in
    the store's own order (as an ORDER BY count DESC, text would give)."""
    keys = [(parse_label(key), n) for key, n in found.items() if is_label(key)]
    hashed = {key.text for key, _ in keys if key.hashed}
    texts = _texts_of(conn, account_id, hashed) if hashed else {}
    totals = by_label(
        (LabelKey(key.option_id, texts[key.text]) if key.hashed else key, n) for key, n in keys
    )
    return _in_store_order(conn, totals)


def _texts_of(conn: Connection, account_id: int, digests: set[str]) -> dict[str, str]:
    """The labels whose md5 is one of `digests` (PostgreSQL keys labels too
    long for its B-tree by md5). Reads the account's qualifications: only
    for such labels, which people rarely write."""
    query = (
        select(qualifications.c.text)
        .where(
            qualifications.c.account_id == account_id,
            func.md5(qualifications.c.text).in_(sorted(digests)),
        )
        .distinct()
    )
    return {_md5(text): text for text in conn.execute(query).scalars()}


def _md5(text: str) -> str:
    # PostgreSQL's md5(text) hashes the text's bytes in the database's
    # encoding, UTF-8 for simgate's.
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _in_store_order(conn: Connection, totals: list[LabelTotal]) -> list[LabelTotal]:
    """Ties in count ordered by the store's collation. SQLite's (binary, on
    UTF-8) is code-point order, by_label's already; PostgreSQL's may be a
    locale's: ask it."""
    if conn.dialect.name != "postgresql":
        return totals
    counts = [total.count for total in totals]
    if len(set(counts)) == len(counts):
        return totals
    labels = values(column("label", Text), name="labels").data([(t.label,) for t in totals])
    ordered = conn.execute(select(labels.c.label).order_by(labels.c.label)).scalars()
    rank = {label: i for i, label in enumerate(ordered)}
    return sorted(totals, key=lambda total: (-total.count, rank[total.label]))


def live_contacts(conn: Connection, account_id: int) -> int:
    """The account's contacts not deleted, from contact_counts and its deltas."""
    parts = [
        select(table.c.n).where(table.c.account_id == account_id)
        for table in _tables(conn, contact_counts, contact_count_deltas)
    ]
    rolled = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("rolled")
    return int(conn.execute(select(func.coalesce(func.sum(rolled.c.n), 0))).scalar_one())
