"""run_write: the durable write path of the v1 API (group commit on SQLite).

Concurrent writes share a transaction on SQLite; each caller must still get
its own result or its own error, and one caller's failure must not undo
another's rows.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, func, insert, select

from simgate.domain.dates import utcnow
from simgate.store.db import run_write, run_write_async
from simgate.store.tables import accounts


def add(email: str, fail: str | None = None) -> Any:
    def work(conn: Connection) -> str:
        if fail == "before":
            raise LookupError(email)
        conn.execute(
            insert(accounts).values(email=email, timezone="UTC", region="FR", created_at=utcnow())
        )
        if fail == "after":
            raise ValueError(email)
        return email

    return work


def emails(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(accounts.c.email)).scalars())


def test_results_and_errors_reach_their_own_callers(engine: Engine) -> None:
    plan = [(f"u{i}@example.com", [None, "before", "after"][i % 3]) for i in range(60)]
    results: dict[str, Any] = {}
    barrier = threading.Barrier(len(plan))

    def call(email: str, fail: str | None) -> None:
        barrier.wait()
        try:
            results[email] = run_write(engine, add(email, fail))
        except Exception as exc:
            results[email] = exc

    threads = [threading.Thread(target=call, args=item) for item in plan]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for email, fail in plan:
        outcome = results[email]
        if fail is None:
            assert outcome == email
        else:
            assert isinstance(outcome, LookupError if fail == "before" else ValueError)
            assert str(outcome) == email
    assert emails(engine) == {email for email, fail in plan if fail is None}


def test_database_error_fails_alone(engine: Engine) -> None:
    run_write(engine, add("taken@example.com"))
    barrier = threading.Barrier(10)
    results: list[Any] = [None] * 10

    def call(n: int) -> None:
        barrier.wait()
        email = "taken@example.com" if n == 0 else f"n{n}@example.com"
        try:
            results[n] = run_write(engine, add(email))
        except Exception as exc:
            results[n] = exc

    threads = [threading.Thread(target=call, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert isinstance(results[0], Exception) and "UNIQUE" in str(results[0]).upper()
    assert results[1:] == [f"n{n}@example.com" for n in range(1, 10)]
    assert len(emails(engine)) == 10


async def test_async_callers(engine: Engine) -> None:
    answers = await asyncio.gather(
        *(run_write_async(engine, add(f"a{i}@example.com")) for i in range(20)),
        run_write_async(engine, add("bad@example.com", "after")),
        return_exceptions=True,
    )
    assert answers[:20] == [f"a{i}@example.com" for i in range(20)]
    assert isinstance(answers[20], ValueError)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(accounts)).scalar_one() == 20


def test_a_write_cannot_wait_for_a_write(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL writes run in the caller's own transaction")

    def nested(conn: Connection) -> None:
        run_write(engine, add("inner@example.com"))

    with pytest.raises(RuntimeError, match="cannot wait"):
        run_write(engine, nested)


def test_queued_writes_share_one_commit(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("group commit is the SQLite writer's")
    commits: list[int] = []
    event.listen(engine, "commit", lambda conn: commits.append(1))
    started = threading.Event()

    def slow(conn: Connection) -> str:
        started.set()
        time.sleep(1.0)  # while this holds the writer, the others queue up
        return str(add("slow@example.com")(conn))

    first = threading.Thread(target=run_write, args=(engine, slow))
    first.start()
    assert started.wait(10)
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda i: run_write(engine, add(f"q{i}@example.com")), range(20)))
    first.join(10)
    assert results == [f"q{i}@example.com" for i in range(20)]
    assert len(emails(engine)) == 21
    assert len(commits) <= 3  # the slow one, then the queue in one or two commits
