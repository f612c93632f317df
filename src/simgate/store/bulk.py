"""Bulk loading: a lived-in store in seconds, for benchmarks and tests.

Rows come from domain/sample_history (made up, no I/O) and go in with one
statement per batch and one transaction per `rows_per_commit` rows: an
executemany of a prepared INSERT on SQLite, COPY on PostgreSQL. Never one
round trip per row: a million messages take minutes, not hours.

The rows reach the real tables, so anything the store keeps by trigger
(rollups) stays right. Values are converted the way SQLAlchemy converts
them (SQLite stores datetimes as text a certain way, and reads compare with
that text), by the column types' own bind processors.

Meant for a store no server writes to at the same time: ids are chosen
here, from the largest in each table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text, update

from simgate.domain.sample_history import WITH_IDS, Batch, Shape, history, scheduled
from simgate.store.db import is_sqlite
from simgate.store.tables import accounts, metadata


def load_history(
    engine: Engine,
    account_id: int,
    shape: Shape,
    now: datetime,
    *,
    device_id: int | None = None,
    rows_per_commit: int = 200_000,
) -> dict[str, int]:
    """Fill `account_id`'s history as `shape` says, ending at `now` (naive
    UTC); returns the rows written per table."""
    with engine.begin() as conn:
        ids = first_ids(conn)
        stamp = _next_contacts_stamp(conn, account_id)
    batches = history(account_id, shape, now, ids, device_id=device_id, contacts_stamp=stamp)
    written = insert_batches(engine, batches, rows_per_commit)
    with engine.begin() as conn:
        conn.execute(
            update(accounts).where(accounts.c.id == account_id).values(contacts_stamp=stamp)
        )
        if not is_sqlite(engine):
            _move_sequences(conn)
    return written


def load_scheduled(engine: Engine, account_id: int, count: int, now: datetime) -> int:
    """Add `count` messages scheduled 1 to 30 days after `now` to the account;
    returns how many were written."""
    with engine.begin() as conn:
        first = first_ids(conn)["messages"]
    written = insert_batches(engine, scheduled(account_id, count, now, first))
    if not is_sqlite(engine):
        with engine.begin() as conn:
            _move_sequences(conn)
    return written.get("messages", 0)


def insert_batches(
    engine: Engine, batches: Iterable[Batch], rows_per_commit: int = 200_000
) -> dict[str, int]:
    """Write the batches in order, committing every `rows_per_commit` rows or
    so; returns the rows written per table."""
    written: Counter[str] = Counter()
    pending = 0
    conn = engine.connect()
    try:
        transaction = conn.begin()
        for batch in batches:
            if not batch.rows:
                continue
            insert_batch(conn, batch)
            written[batch.table] += len(batch.rows)
            pending += len(batch.rows)
            if pending >= rows_per_commit:
                transaction.commit()
                transaction = conn.begin()
                pending = 0
        transaction.commit()
    finally:
        conn.close()
    return dict(written)


def insert_batch(conn: Connection, batch: Batch) -> None:
    """One batch in one statement, inside the caller's transaction."""
    columns = ", ".join(batch.columns)
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" * len(batch.columns))
        rows = _converted(conn, batch)
        conn.exec_driver_sql(f"INSERT INTO {batch.table} ({columns}) VALUES ({marks})", rows)
        return
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {batch.table} ({columns}) FROM STDIN") as copy:
        for row in batch.rows:
            copy.write_row(row)


def _converted(conn: Connection, batch: Batch) -> list[tuple[Any, ...]]:
    """The rows with each value as SQLAlchemy would bind it (datetimes as its
    text, booleans as 0/1 on SQLite)."""
    table = metadata.tables[batch.table]
    dialect = conn.dialect
    processors: list[tuple[int, Callable[[Any], Any]]] = []
    for index, name in enumerate(batch.columns):
        bind = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if bind is not None:
            processors.append((index, _faster(bind)))
    if not processors:
        return batch.rows
    out = []
    for row in batch.rows:
        values = list(row)
        for index, convert in processors:
            values[index] = convert(values[index])
        out.append(tuple(values))
    return out


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(" ", "microseconds")


SAMPLES = (datetime(2026, 1, 2, 3, 4, 5), datetime(2026, 1, 2, 3, 4, 5, 60))


def _faster(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """datetime.isoformat (C) where it writes what the processor writes (the
    SQLite DateTime text): a million messages bind seven million datetimes."""
    try:
        same = all(processor(when) == _iso(when) for when in SAMPLES)
    except (TypeError, ValueError, AttributeError):
        same = False
    return _iso if same else processor


def first_ids(conn: Connection) -> dict[str, int]:
    """The first id free in each table a history writes."""
    return {
        name: int(
            conn.execute(
                select(func.coalesce(func.max(metadata.tables[name].c.id), 0))
            ).scalar_one()
        )
        + 1
        for name in WITH_IDS
    }


def _next_contacts_stamp(conn: Connection, account_id: int) -> int:
    current = conn.execute(
        select(accounts.c.contacts_stamp).where(accounts.c.id == account_id)
    ).scalar_one()
    return int(current) + 1


def _move_sequences(conn: Connection) -> None:
    """PostgreSQL: the id sequences past the ids written here, so that the
    server's own inserts do not collide with them."""
    for name in WITH_IDS:
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {name}), false)"
            )
        )


def analyze(engine: Engine) -> None:
    """Fresh planner statistics after a bulk load (both stores)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
