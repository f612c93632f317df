"""Reads through store.db.reading: a write through one fails at once (SQLite's
query_only, PostgreSQL's READ ONLY transactions), the pooled connection then
writes as usual, and the services that only read do not wait for the writer
thread's open transaction (SQLite: a snapshot beside it, not BEGIN IMMEDIATE)."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import DBAPIError

from simgate.config import Settings
from simgate.services import history, stats, templates
from simgate.services.accounts import Account, authenticate_request, create_account
from simgate.services.dashboard import overview
from simgate.store import templates as template_store
from simgate.store.db import is_sqlite, make_engine, reading, run_write
from simgate.store.tables import accounts

# Generous: a read that queued for the write lock would wait the busy timeout
# (30 s) and fail; one that reads a snapshot answers in milliseconds.
READ_BOUND = 15.0


@pytest.fixture(scope="module")
def engine(shared_settings: Settings) -> Iterator[Engine]:
    """One store per module and engine: each test makes its own account."""
    engine = make_engine(shared_settings)
    yield engine
    engine.dispose()


@pytest.fixture
def created(engine: Engine) -> tuple[Account, str]:
    """A fresh account and its access key."""
    email = f"{secrets.token_hex(5)}@example.com"
    return create_account(engine, email, "Europe/Paris", "FR")


@pytest.fixture
def account(created: tuple[Account, str]) -> Account:
    return created[0]


def _set_timezone(conn: Connection, account_id: int, timezone: str) -> None:
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(timezone=timezone))


def _timezone(conn: Connection, account_id: int) -> str:
    return str(
        conn.execute(select(accounts.c.timezone).where(accounts.c.id == account_id)).scalar_one()
    )


def test_a_write_through_reading_fails_and_the_connection_then_writes(
    engine: Engine, account: Account
) -> None:
    with reading(engine) as conn:
        raw = conn.connection.dbapi_connection
        assert _timezone(conn, account.id) == "Europe/Paris"
        with pytest.raises(DBAPIError):
            _set_timezone(conn, account.id, "Europe/Rome")
    # The pool is LIFO: the same driver connection serves the next write,
    # with the read-only state turned off again.
    with engine.begin() as conn:
        assert conn.connection.dbapi_connection is raw
        _set_timezone(conn, account.id, "Europe/Rome")
    with reading(engine) as conn:
        assert conn.connection.dbapi_connection is raw
        assert _timezone(conn, account.id) == "Europe/Rome"
    # And through the writer thread (SQLite), whichever connection it takes.
    run_write(engine, lambda conn: _set_timezone(conn, account.id, "Europe/Berlin"))
    with reading(engine) as conn:
        assert _timezone(conn, account.id) == "Europe/Berlin"


def test_a_reading_connection_reads_across_transactions(engine: Engine, account: Account) -> None:
    with reading(engine) as conn:
        assert _timezone(conn, account.id) == "Europe/Paris"
        conn.commit()
        assert _timezone(conn, account.id) == "Europe/Paris"
        conn.rollback()
        with pytest.raises(DBAPIError):
            _set_timezone(conn, account.id, "Europe/Rome")


def test_query_only_is_set_only_when_a_connection_changes_sides(engine: Engine) -> None:
    """The writer's BEGIN IMMEDIATE pays no pragma while reads do not come between."""
    if not is_sqlite(engine):
        pytest.skip("SQLite's query_only; psycopg puts READ ONLY in its own BEGIN")
    with engine.begin() as conn:  # a write: query_only is off, whatever came before
        raw = conn.connection.dbapi_connection
    statements: list[str] = []
    raw.set_trace_callback(statements.append)  # type: ignore[union-attr]
    try:
        for opener in (
            engine.begin,
            engine.begin,
            lambda: reading(engine),
            lambda: reading(engine),
        ):
            with opener() as conn:
                assert conn.connection.dbapi_connection is raw
                conn.execute(select(1))
        with engine.begin() as conn:
            conn.execute(select(1))
    finally:
        raw.set_trace_callback(None)  # type: ignore[union-attr]
    pragmas = [s for s in statements if s.startswith("PRAGMA")]
    begins = [s for s in statements if s.startswith("BEGIN")]
    assert pragmas == ["PRAGMA query_only=1", "PRAGMA query_only=0"]
    assert begins == ["BEGIN IMMEDIATE"] * 2 + ["BEGIN"] * 2 + ["BEGIN IMMEDIATE"]


@pytest.fixture
def writer_blocked(engine: Engine, account: Account) -> Iterator[Future[None]]:
    """A write transaction held open by the writer (SQLite: the writer thread's
    BEGIN IMMEDIATE) with a change not yet committed, until the test ends."""
    entered, release = threading.Event(), threading.Event()

    def work(conn: Connection) -> None:
        template_store.insert_template(conn, account.id, "pending", "not yet", datetime(2026, 1, 1))
        entered.set()
        assert release.wait(60)

    with ThreadPoolExecutor(1) as pool:
        write = pool.submit(run_write, engine, work)
        try:
            assert entered.wait(READ_BOUND)
            yield write
        finally:
            release.set()
        write.result(timeout=READ_BOUND)


def test_reads_do_not_wait_for_the_writer(
    engine: Engine, created: tuple[Account, str], writer_blocked: Future[None]
) -> None:
    account, key = created
    reads: dict[str, Callable[[], Any]] = {
        # An API request the access cache does not know yet.
        "API authentication": lambda: asyncio.run(authenticate_request(engine, account.email, key)),
        "dashboard overview": lambda: overview.overview(engine, account),
        "v2 templates list": lambda: templates.list_templates(engine, account, 10),
        "v2 stats": lambda: stats.overview(engine, account.id, None, None),
        "history": lambda: history.list_sms(engine, account.id, 10),
    }
    with ThreadPoolExecutor(len(reads)) as pool:
        running = {name: pool.submit(read) for name, read in reads.items()}
        answers = {name: future.result(timeout=READ_BOUND) for name, future in running.items()}
    assert not writer_blocked.done(), "the reads must have answered beside the open write"
    assert answers["API authentication"].id == account.id
    assert answers["dashboard overview"].today.sent == 0
    # A snapshot: the writer's uncommitted template is not there.
    assert answers["v2 templates list"] == ([], False)
    assert answers["history"].items == []
