"""Fixtures of the store-level tests: a fresh SQLite store, the statements an
engine runs, an empty store to upgrade from an older migration, plans, and
the rollups worker folding deltas."""

from __future__ import annotations

import asyncio
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, Table, event, select

from simgate.config import Settings
from simgate.store.db import make_engine
from simgate.workers import rollups as rollups_worker
from tests.support.postgres import PostgresCluster


@pytest.fixture
def sqlite_engine(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """A fresh SQLite store, for what only SQLite has (its writer thread)."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copyfile(sqlite_template, data_dir / "simgate.db")
    engine = make_engine(Settings(data_dir=data_dir))
    yield engine
    engine.dispose()


def message_row(account_id: int, name: str, **values: Any) -> dict[str, Any]:
    """A `messages` row for a direct insert: a queued one-segment message
    unless `values` say otherwise. Every optional column a test may set is
    here (None), so that rows of one executemany share their keys."""
    row: dict[str, Any] = {
        "account_id": account_id,
        "id_sms_api": name,
        "request_hash": "h",
        "phone_number": "+33612345678",
        "message": "hello",
        "priority": 1,
        "encoding": "GSM-7",
        "segments": 1,
        "state": "queued",
        "send_at": None,
        "created_at": None,
        "attempts": 0,
        "valid_until": None,
        "lease_until": None,
        "acked_at": None,
    }
    return row | values


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """(sql, parameters) of every statement `engine` runs in the test."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        seen.append((sql, params))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


@pytest.fixture(params=["sqlite", "postgres"])
def old_store(
    request: pytest.FixtureRequest, tmp_path: Path, postgres: PostgresCluster | None
) -> Iterator[Engine]:
    """An empty database, not migrated."""
    if request.param == "sqlite":
        engine = make_engine(Settings(data_dir=tmp_path))
        yield engine
        engine.dispose()
        return
    if postgres is None:
        pytest.skip("PostgreSQL not available")
    name = "u_" + secrets.token_hex(6)
    postgres.create_database(name)
    engine = make_engine(Settings(data_dir=tmp_path, database_url=postgres.url(name)))
    yield engine
    engine.dispose()
    postgres.drop_database(name)


def explain(engine: Engine, sql: str, params: Any) -> str:
    """The plan of one captured statement, on one line."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")  # tiny tables: show the index
            return " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, params))
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
        return " ".join(str(r[-1]) for r in rows)


def pending_deltas(engine: Engine, *deltas: Table) -> int:
    """Rows waiting in the given rollup deltas tables (PostgreSQL)."""
    with engine.connect() as conn:
        return sum(len(conn.execute(select(table)).all()) for table in deltas)


def fold_with_worker(engine: Engine, *deltas: Table, timeout: float = 10) -> None:
    """Run the real rollups worker until `deltas` are empty, then stop it."""

    async def fold() -> None:
        stop = asyncio.Event()
        runtime: Any = SimpleNamespace(engine=engine)
        task = asyncio.create_task(rollups_worker.run(runtime, stop))
        while await asyncio.to_thread(pending_deltas, engine, *deltas):
            await asyncio.sleep(0.02)
        stop.set()
        await task

    asyncio.run(asyncio.wait_for(fold(), timeout))
