"""Engines and migrations.

SQLite runs in WAL mode with `synchronous=FULL` by default so that an answer of
`sent: 1` means the row is on disk; a busy timeout lets the CLI write while the
server runs. PostgreSQL is reached through psycopg 3.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event

from simgate.config import Settings

MIGRATIONS = Path(__file__).with_name("migrations")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url()
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=8,
            max_overflow=8,
        )
        synchronous = settings.sqlite_synchronous

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy issue BEGIN itself (IMMEDIATE, below), not pysqlite.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # Take the write lock up front: a deferred transaction that reads
            # then writes can fail with "database is locked" under contention.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


T = TypeVar("T")


class _Job(Generic[T]):
    __slots__ = ("work", "done", "result", "error")

    def __init__(self, work: Callable[[Connection], T]) -> None:
        self.work = work
        self.done = False
        self.result: T | None = None
        self.error: BaseException | None = None

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class GroupWriter:
    """Group commit for SQLite: concurrent writes share one transaction and one fsync.

    SQLite has one writer at a time and `synchronous=FULL` syncs the WAL at
    each commit. One commit per request caps single-message requests near
    the disk's sync rate, and threads left to SQLite's busy handler nap 1, 2,
    5, 10... ms between tries. Here a thread that finds the writer busy
    queues its work; the next leader runs everything queued, each piece in
    its own SAVEPOINT (one failing piece rolls back alone), commits once, and
    only then hands every caller its result: an answer still means on disk.
    Other processes (the CLI) meet the busy timeout as before.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cond = threading.Condition()
        self._pending: list[_Job[Any]] = []
        self._busy = False

    def run(self, work: Callable[[Connection], T]) -> T:
        job: _Job[T] = _Job(work)
        with self._cond:
            self._pending.append(job)
            while self._busy and not job.done:
                self._cond.wait()
            if job.done:
                return job.outcome()
            self._busy = True
            batch, self._pending = self._pending, []
        try:
            self._commit(batch)
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
        return job.outcome()

    def _commit(self, batch: list[_Job[Any]]) -> None:
        try:
            with self.engine.begin() as conn:
                if len(batch) == 1:  # alone: no savepoint needed
                    batch[0].result = batch[0].work(conn)
                else:
                    for job in batch:
                        try:
                            with conn.begin_nested():
                                job.result = job.work(conn)
                        except Exception as exc:
                            job.error = exc
        except BaseException as exc:  # the commit (or a lone job) failed: nobody's work stands
            for job in batch:
                if job.error is None:
                    job.error = exc
                    job.result = None
        finally:
            for job in batch:
                job.done = True


_writers: weakref.WeakKeyDictionary[Engine, GroupWriter] = weakref.WeakKeyDictionary()
_writers_guard = threading.Lock()


def run_write(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run `work(conn)` in a committed write transaction and return its result.

    On SQLite concurrent calls are group-committed (see GroupWriter); on
    PostgreSQL each call is its own transaction. An exception from `work`
    rolls back its own writes and is raised here.
    """
    if not is_sqlite(engine):
        with engine.begin() as conn:
            return work(conn)
    with _writers_guard:
        writer = _writers.get(engine)
        if writer is None:
            writer = _writers[engine] = GroupWriter(engine)
    return writer.run(work)


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Apply every migration (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")
