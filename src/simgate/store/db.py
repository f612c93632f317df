"""Engines and migrations.

SQLite runs in WAL mode with `synchronous=FULL` by default so that an answer of
`sent: 1` means the row is on disk; a busy timeout lets the CLI write while the
server runs. PostgreSQL is reached through psycopg 3.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError

from simgate import metrics
from simgate.config import Settings

log = logging.getLogger(__name__)
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
            # The most recently used connection has the warmest page cache.
            pool_use_lifo=True,
        )
        synchronous = settings.sqlite_synchronous
        # With FULL, the writer's own transactions commit at NORMAL and its
        # syncer makes them durable (see SQLiteWriter): every other
        # transaction keeps FULL.
        group_sync = synchronous == "FULL"
        if group_sync:
            _group_synced.add(engine)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy issue BEGIN itself (IMMEDIATE, below), not pysqlite.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # 64 MB of page cache per connection (default 2 MB): the random
            # short-code and id indexes outgrow 2 MB after some 10^5 messages.
            cur.execute("PRAGMA cache_size=-65536")
            # Statement journals in memory: a statement that fires a trigger
            # (the rollups of migration 0008) or writes many rows keeps the
            # pages it changes in a statement journal, which SQLite spills to
            # a file in /var/tmp past 64 KiB: write system calls in every
            # insert, 20-30 us a row (raw sqlite3, messages). Every read is
            # index-driven, so no big temporary sort lands in memory instead.
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            options = conn.get_execution_options()
            read_only = options.get(READ_ONLY, False)
            in_writer = options.get(_IN_WRITER, False)
            fairy = conn.connection
            # On the driver's connection: SQLAlchemy's statement path (and its
            # events, which hear of no BEGIN) cost more than the BEGIN itself,
            # once per transaction.
            raw = fairy.dbapi_connection
            # Pragmas are set only when the driver connection changes sides: a
            # dict look-up otherwise. query_only makes a write through
            # `reading` fail at once, not only when it meets another writer.
            info = fairy.info
            if info.get(QUERY_ONLY, False) != read_only:
                raw.execute("PRAGMA query_only=1" if read_only else "PRAGMA query_only=0")
                info[QUERY_ONLY] = read_only
            if group_sync:
                level = "NORMAL" if in_writer else synchronous
                if info.get(_SYNCHRONOUS, synchronous) != level:
                    raw.execute(f"PRAGMA synchronous={level}")
                    info[_SYNCHRONOUS] = level
            if read_only:
                # A connection from `reading` only reads: in WAL mode its
                # deferred transaction reads a snapshot beside the writer,
                # queueing for nothing.
                raw.execute("BEGIN")
                return
            # Take the write lock up front: a deferred transaction that reads
            # then writes can fail with "database is locked" under contention.
            writer = None if in_writer or not group_sync else _writers.get(conn.engine)
            if writer is not None:
                writer.wait_durable()  # before the lock, not to hold it waiting
            raw.execute("BEGIN IMMEDIATE")
            if writer is not None:
                # Whatever this transaction sees is on disk: a worker never acts
                # (hands a message to a phone, sends a webhook) on a write that
                # a power cut could still undo.
                writer.wait_durable()

        return engine
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


T = TypeVar("T")

# Execution option of the writer's own transactions (synchronous=NORMAL, then
# made durable by its syncer).
_IN_WRITER = "simgate_in_writer"
# Key, in the pool's record of a driver connection, of its `synchronous`
# level when it differs from the configured one.
_SYNCHRONOUS = "simgate_synchronous"

# SQLite engines whose writer commits at NORMAL and syncs the WAL itself.
_group_synced: weakref.WeakSet[Engine] = weakref.WeakSet()

# How long the SQLite writer thread waits for work before it exits (it comes
# back with the next write); idle engines then hold no thread.
WRITER_IDLE_SECONDS = 2.0


class _Rerun(Exception):
    pass


class _Job:
    """A piece of work for the writer, and who waits for its result: a thread
    (a concurrent future) or a coroutine (an asyncio future of `loop`)."""

    __slots__ = ("future", "loop", "work")

    def __init__(
        self,
        work: Callable[[Connection], Any],
        future: Future[Any] | asyncio.Future[Any],
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.work = work
        self.future = future
        self.loop = loop

    def start(self) -> bool:
        """False when its caller gave up waiting: the work is not run."""
        if self.loop is None:
            assert isinstance(self.future, Future)
            return self.future.set_running_or_notify_cancel()
        # Read from this thread: a cancel just after it only drops the result.
        return not self.future.cancelled()


# The writer thread's commit in progress: callbacks its commit hooks asked to
# run once that commit is on disk (`call_when_durable`).
_durable_callbacks = threading.local()


def call_when_durable(callback: Callable[[], None]) -> bool:
    """From a commit hook of the SQLite writer's transaction: run `callback`
    once that commit is on disk, with the settling of its callers, and return
    True; anywhere else return False (the caller runs it itself).

    A worker woken by the commit (the dispatcher, the webhook sender) could do
    nothing before the sync anyway: its transaction waits for it. Woken with
    the callers, it costs the event loop one wake-up per commit, not two."""
    pending: list[Callable[[], None]] | None = getattr(_durable_callbacks, "pending", None)
    if pending is None:
        return False
    pending.append(callback)
    return True


def _settle(
    outcomes: list[tuple[_Job, bool, Any]], callbacks: list[Callable[[], None]] | None = None
) -> None:
    """Hand each job its result (ok) or exception, and run `callbacks`. The
    coroutines waiting on one event loop are settled by one call there: a
    wake-up of the loop per batch, not per request; the callbacks ride along
    with the first such call (or run here if no coroutine waits)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, bool, Any]]] = {}
    for outcome in outcomes:
        job, ok, value = outcome
        if job.loop is None:
            assert isinstance(job.future, Future)
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)
        else:
            by_loop.setdefault(job.loop, []).append(outcome)
    for loop, waiting in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle_in_loop, waiting, callbacks or ())
            callbacks = None
        except RuntimeError:  # the loop closed: nobody is left waiting
            pass
    for callback in callbacks or ():
        callback()


def _settle_in_loop(
    outcomes: list[tuple[_Job, bool, Any]], callbacks: Iterable[Callable[[], None]]
) -> None:
    for callback in callbacks:
        callback()
    for job, ok, value in outcomes:
        future = job.future
        if future.done():  # cancelled meanwhile
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


class SQLiteWriter:
    """Group commit for SQLite: one thread runs every write of the engine.

    SQLite has one writer at a time and `synchronous=FULL` syncs the WAL at
    each commit. With one commit per request, single-message requests are
    capped near the disk's sync rate; threads left to SQLite's busy handler
    nap 1, 2, 5, 10... ms between tries; and many threads passing the GIL
    around cost more than the work. Here callers queue their work; the
    writer thread runs everything queued in one transaction, commits once,
    and only then settles each caller's future: an answer still means on
    disk. A piece of work that raises before writing anything fails alone;
    one that raises after writing rolls the transaction back and the others
    run again without it. Other processes (the CLI) meet the busy timeout as
    before.

    Heavy work (the insert of a request of thousands of messages) commits in
    a transaction of its own, after the light work queued with it: a big
    request does not hold back the small ones of other accounts queued with
    it, and big ones still share their commits.

    SQLite's own WAL checkpoints run in the commit that takes the WAL past
    1,000 pages. With the fsync in the commit they were most of the p99 of
    single requests (25-31 ms at 8 connections against 15-18 ms with none in
    the run, bench/accept.py); with the syncer below, runs with and without
    them no longer differ (17-20 ms either way: what is left is the CPU the
    server spends per request). Tried and dropped: a PASSIVE checkpoint on a
    thread of its own (it never completes while the writer appends, so the
    WAL grew without end) and a 10,000-page threshold (p99.9 90 ms).

    With `synchronous=FULL` the fsync leaves the writer's path: its
    transactions commit at NORMAL (SQLite writes the WAL frames without
    syncing them) and a second thread, the syncer, fdatasyncs the WAL and
    only then settles the callers, while the writer already runs the next
    batch. One fsync covers every commit made before it began. It is as
    durable as FULL: a commit's frames are on disk before its answer, and a
    checkpoint that copied them into the database first synced it (NORMAL
    syncs the WAL before each checkpoint and the database after a complete
    one, before the WAL is reused). Every other transaction commits at FULL,
    and one that takes the write lock first waits for the syncer to catch up
    (`wait_durable`): a worker never acts on a row a power cut could undo.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cond = threading.Condition()
        self._queue: list[_Job] = []
        self._heavy: deque[_Job] = deque()
        self._thread: threading.Thread | None = None
        self._conn: Connection | None = None  # the writer thread's own
        self._group_sync = engine in _group_synced
        sync_lock = threading.Lock()
        self._unsynced = threading.Condition(sync_lock)  # work for the syncer
        self._caught_up = threading.Condition(sync_lock)  # for wait_durable
        # Commits waiting for the syncer: their callers, and their hooks' callbacks.
        self._pending: list[tuple[list[tuple[_Job, bool, Any]], list[Callable[[], None]]]] = []
        self._committed = 0  # commits handed to the syncer
        self._synced = 0  # of which are on disk
        self._syncer: threading.Thread | None = None

    def submit(self, work: Callable[[Connection], T], heavy: bool = False) -> Future[T]:
        """Queue `work`; its future is settled after the commit."""
        future: Future[T] = Future()
        self._enqueue(_Job(work, future), heavy)
        return future

    def submit_async(
        self, work: Callable[[Connection], T], heavy: bool = False
    ) -> asyncio.Future[T]:
        """`submit` for a coroutine: an asyncio future of the running loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._enqueue(_Job(work, future, loop), heavy)
        return future

    def _enqueue(self, job: _Job, heavy: bool) -> None:
        with self._cond:
            if self._thread is threading.current_thread():
                raise RuntimeError("a write cannot wait for another write")
            (self._heavy if heavy else self._queue).append(job)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="simgate-sqlite-writer", daemon=True
                )
                self._thread.start()
            else:
                self._cond.notify()

    def _serve(self) -> None:
        try:
            while True:
                with self._cond:
                    if not self._queue and not self._heavy:
                        self._cond.wait(WRITER_IDLE_SECONDS)
                    if not self._queue and not self._heavy:
                        self._let_go()  # before a new thread can take over
                        self._thread = None
                        return
                    batch, self._queue = self._queue, []
                    heavy, self._heavy = list(self._heavy), deque()
                # The light work first, together; then the heavy, together.
                for jobs in (batch, heavy):
                    live = [job for job in jobs if job.start()]
                    if live:
                        self._commit(live)
        except BaseException:
            # Never leave callers waiting on a thread that is gone: the next
            # submit starts a new one.
            with self._cond:
                self._let_go()  # before a new thread can take over
                self._thread = None
            log.exception("SQLite writer thread failed")
            raise

    def _connection(self) -> Connection:
        """The writer thread's connection, kept while the thread lives: a
        checkout from the pool and a checkin back cost more Python than
        SQLite's own BEGIN and COMMIT, at every commit."""
        if self._conn is None or self._conn.invalidated:
            self._let_go()
            self._conn = self.engine.connect().execution_options(**{_IN_WRITER: True})
        return self._conn

    def _let_go(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                log.exception("closing the SQLite writer's connection failed")

    def _as_if_checked_in(self, conn: Connection) -> None:
        """The pool's checkin hooks (store/notify: wake the workers whose
        tables a commit wrote), run after each commit as if the connection
        went back to the pool, as it did when each commit had its own."""
        fairy = conn.connection
        self.engine.pool.dispatch.checkin(
            fairy.dbapi_connection,
            fairy._connection_record,
        )

    def _commit(self, batch: list[_Job]) -> None:
        while batch:
            outcomes: list[tuple[_Job, bool, Any]] = []
            # Commit hooks run after the commit, inside this block; with the
            # syncer, theirs wait for the sync.
            callbacks: list[Callable[[], None]] = []
            _durable_callbacks.pending = callbacks if self._group_sync else None
            try:
                conn = self._connection()
                with conn.begin():
                    raw = conn.connection.dbapi_connection
                    for index, job in enumerate(batch):
                        changes = raw.total_changes  # type: ignore[union-attr]
                        try:
                            outcomes.append((job, True, job.work(conn)))
                        except Exception as exc:
                            wrote = raw.total_changes != changes  # type: ignore[union-attr]
                            if wrote or isinstance(exc, DBAPIError):
                                _settle([(job, False, exc)])
                                del batch[index]
                                raise _Rerun() from None
                            outcomes.append((job, False, exc))
                self._as_if_checked_in(conn)
            except _Rerun:
                self._as_if_checked_in(conn)
                continue
            except BaseException as exc:  # the commit failed: nobody's work stands
                self._let_go()  # and the connection may be in any state
                _settle([(job, False, exc) for job in batch], callbacks)
                return
            finally:
                _durable_callbacks.pending = None
            metrics.sqlite_commit_batch.observe(len(outcomes))
            if self._group_sync:
                self._hand_to_syncer(outcomes, callbacks)
            else:
                _settle(outcomes)
            return

    def _hand_to_syncer(
        self, outcomes: list[tuple[_Job, bool, Any]], callbacks: list[Callable[[], None]]
    ) -> None:
        with self._unsynced:
            self._pending.append((outcomes, callbacks))
            self._committed += 1
            if self._syncer is None:
                self._syncer = threading.Thread(
                    target=self._sync_loop, name="simgate-sqlite-sync", daemon=True
                )
                self._syncer.start()
            else:
                self._unsynced.notify()

    def _sync_loop(self) -> None:
        try:
            self._sync_until_idle()
        except BaseException:
            with self._unsynced:
                self._syncer = None
            log.exception("SQLite sync thread failed")
            raise

    def _sync_until_idle(self) -> None:
        wal = f"{self.engine.url.database}-wal"
        while True:
            with self._unsynced:
                if not self._pending:
                    self._unsynced.wait(WRITER_IDLE_SECONDS)
                if not self._pending:
                    self._syncer = None
                    return
                batches, self._pending = self._pending, []
                upto = self._committed
            outcomes = [outcome for batch, _ in batches for outcome in batch]
            callbacks = [callback for _, batch in batches for callback in batch]
            started = time.perf_counter()
            try:
                _sync_file(wal)
            except OSError as exc:
                # Committed, but maybe not on disk: nobody is told it is.
                log.exception("SQLite WAL sync failed")
                outcomes = [(job, False, exc) for job, _ok, _value in outcomes]
            metrics.sqlite_sync_seconds.observe(time.perf_counter() - started)
            with self._unsynced:
                self._synced = upto
                self._caught_up.notify_all()
            # Hooks run even if the sync failed: a woken worker finds out itself.
            _settle(outcomes, callbacks)

    def queued(self) -> int:
        """Pieces of work waiting for the writer thread (not the batch it runs)."""
        return len(self._queue) + len(self._heavy)

    def wait_durable(self) -> None:
        """Return once every commit of the writer so far is on disk."""
        with self._caught_up:
            target = self._committed
            while self._synced < target:
                self._caught_up.wait()


def _sync_file(wal: str) -> None:
    """fdatasync the WAL through a descriptor of our own (Linux syncs the
    file, whoever wrote it). No WAL file: the last connection to close
    checkpointed it into the database, synced at that checkpoint."""
    try:
        fd = os.open(wal, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)


_writers: weakref.WeakKeyDictionary[Engine, SQLiteWriter] = weakref.WeakKeyDictionary()
_writers_guard = threading.Lock()


def _writer(engine: Engine) -> SQLiteWriter:
    with _writers_guard:
        writer = _writers.get(engine)
        if writer is None:
            writer = _writers[engine] = SQLiteWriter(engine)
        return writer


def sqlite_writer_queued(engine: Engine) -> int | None:
    """Work waiting for `engine`'s SQLite writer; None on PostgreSQL."""
    if not is_sqlite(engine):
        return None
    writer = _writers.get(engine)
    return 0 if writer is None else writer.queued()


def run_write(engine: Engine, work: Callable[[Connection], T], heavy: bool = False) -> T:
    """Run `work(conn)` in a committed write transaction and return its result.

    On SQLite the work is queued to the engine's writer thread and group
    committed (see SQLiteWriter; `heavy` work commits after the light, apart);
    on PostgreSQL each call is its own transaction. An exception from `work`
    undoes its writes and is raised here.
    """
    if not is_sqlite(engine):
        with engine.begin() as conn:
            return work(conn)
    return _writer(engine).submit(work, heavy).result()


async def run_write_async(
    engine: Engine, work: Callable[[Connection], T], heavy: bool = False
) -> T:
    """`run_write` for the event loop: waits without holding a worker thread on SQLite."""
    if not is_sqlite(engine):
        return await anyio.to_thread.run_sync(run_write, engine, work)
    return await _writer(engine).submit_async(work, heavy)


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


READ_ONLY = "simgate_read_only"
# Key in a pooled connection's `info`: whether SQLite's query_only is on.
QUERY_ONLY = "simgate_query_only"


def reading(engine: Engine) -> Connection:
    """A connection for reads only (`with reading(engine) as conn:`). On SQLite
    its transactions are deferred: they read a snapshot without queueing for
    the write lock that every other transaction takes first. A write through
    it fails at once, in tests as in production: on SQLite its transactions
    run with `PRAGMA query_only=1` (turned off again for the next transaction
    of that pooled connection that is not a read), on PostgreSQL they are
    READ ONLY (psycopg says so in its BEGIN: no extra round trip)."""
    conn = engine.connect().execution_options(**{READ_ONLY: True})
    if is_sqlite(engine):
        return conn
    return conn.execution_options(postgresql_readonly=True)


def _read_raw(engine: Engine, sql: str) -> Any:
    # On the driver's connection, outside any transaction: SQLAlchemy's would
    # begin one, which on SQLite (BEGIN IMMEDIATE) queues for the write lock
    # behind whatever the workers are writing.
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.execute(sql)
            return cursor.fetchone()
        finally:
            cursor.close()
    finally:
        raw.close()  # back to the pool, which rolls back what psycopg began


def ping(engine: Engine) -> None:
    """Raise unless the store answers."""
    _read_raw(engine, "SELECT 1")


def schema_revision(engine: Engine) -> str | None:
    """The migration the store is at (None before the first)."""
    row = _read_raw(engine, "SELECT version_num FROM alembic_version")
    return None if row is None else str(row[0])


def head_revision() -> str:
    """The newest migration this code knows."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head
