"""The SQLite writer settles the coroutines of a batch with one wake-up of
their event loop, after the commit; threads and coroutines share batches, and
a caller that gave up waiting neither runs nor breaks the others."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, func, insert, select

from simgate.domain.dates import utcnow
from simgate.store.db import run_write, run_write_async
from simgate.store.tables import accounts


def add(email: str, fail: bool = False) -> Callable[[Connection], str]:
    def work(conn: Connection) -> str:
        conn.execute(
            insert(accounts).values(email=email, timezone="UTC", region="FR", created_at=utcnow())
        )
        if fail:
            raise ValueError(email)
        return email

    return work


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(accounts)).scalar_one())


def hold_writer(engine: Engine, seconds: float) -> threading.Thread:
    """A write that keeps the writer busy while others queue behind it."""
    started = threading.Event()

    def slow(conn: Connection) -> str:
        started.set()
        time.sleep(seconds)
        return add("slow@example.com")(conn)

    thread = threading.Thread(target=run_write, args=(engine, slow))
    thread.start()
    assert started.wait(10)
    return thread


async def test_a_batch_wakes_the_loop_once_after_its_commit(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    wakes: list[int] = []
    commits: list[int] = []
    real = loop.call_soon_threadsafe

    def counted(callback: Any, *args: Any, **kw: Any) -> Any:
        if threading.current_thread().name == "simgate-sqlite-sync":
            # Settled after the commit, never before: an answer means on disk.
            wakes.append(len(commits))
        return real(callback, *args, **kw)

    monkeypatch.setattr(loop, "call_soon_threadsafe", counted)
    event.listen(sqlite_engine, "commit", lambda conn: commits.append(1))
    slow = await asyncio.to_thread(hold_writer, sqlite_engine, 0.5)
    answers = await asyncio.gather(
        *(run_write_async(sqlite_engine, add(f"a{i}@example.com")) for i in range(30))
    )
    await asyncio.to_thread(slow.join, 10)
    assert answers == [f"a{i}@example.com" for i in range(30)]
    assert count(sqlite_engine) == 31
    # The 30 queued behind the slow write: one commit, then one wake-up.
    assert wakes == [2]


async def test_errors_reach_their_own_coroutines(sqlite_engine: Engine) -> None:
    slow = await asyncio.to_thread(hold_writer, sqlite_engine, 0.3)
    answers = await asyncio.gather(
        run_write_async(sqlite_engine, add("bad@example.com", fail=True)),
        *(run_write_async(sqlite_engine, add(f"a{i}@example.com")) for i in range(5)),
        return_exceptions=True,
    )
    await asyncio.to_thread(slow.join, 10)
    assert isinstance(answers[0], ValueError)
    assert answers[1:] == [f"a{i}@example.com" for i in range(5)]
    assert count(sqlite_engine) == 6


async def test_threads_and_coroutines_share_a_batch(sqlite_engine: Engine) -> None:
    slow = await asyncio.to_thread(hold_writer, sqlite_engine, 0.5)
    from_threads = [
        asyncio.to_thread(run_write, sqlite_engine, add(f"t{i}@example.com")) for i in range(5)
    ]
    from_loop = [run_write_async(sqlite_engine, add(f"c{i}@example.com")) for i in range(5)]
    answers = await asyncio.gather(*from_threads, *from_loop)
    await asyncio.to_thread(slow.join, 10)
    assert answers == [f"t{i}@example.com" for i in range(5)] + [
        f"c{i}@example.com" for i in range(5)
    ]
    assert count(sqlite_engine) == 11


async def test_a_caller_that_gave_up_is_skipped(sqlite_engine: Engine) -> None:
    slow = await asyncio.to_thread(hold_writer, sqlite_engine, 0.5)
    gone = asyncio.ensure_future(run_write_async(sqlite_engine, add("gone@example.com")))
    kept = asyncio.ensure_future(run_write_async(sqlite_engine, add("kept@example.com")))
    await asyncio.sleep(0)
    gone.cancel()
    assert await kept == "kept@example.com"
    await asyncio.to_thread(slow.join, 10)
    with sqlite_engine.connect() as conn:
        stored = set(conn.execute(select(accounts.c.email)).scalars())
    assert stored == {"slow@example.com", "kept@example.com"}
