"""With synchronous=FULL the SQLite writer commits at NORMAL and its syncer
fdatasyncs the WAL before anyone hears of the commit: the caller's answer,
and any other transaction that takes the write lock (a worker's claim)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, func, insert, select

from simgate.config import Settings
from simgate.domain.dates import utcnow
from simgate.store import db
from simgate.store.db import make_engine, reading, run_write
from simgate.store.notify import inserts_into, watch_commits
from simgate.store.tables import accounts


class HeldSync:
    """`store.db._sync_file` that waits to be let go, and says what it synced."""

    def __init__(self) -> None:
        self.syncing = threading.Event()
        self.release = threading.Event()
        self.files: list[str] = []
        self.error: OSError | None = None

    def __call__(self, path: str) -> None:
        self.files.append(path)
        self.syncing.set()
        assert self.release.wait(10)
        if self.error is not None:
            raise self.error


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldSync]:
    sync = HeldSync()
    monkeypatch.setattr(db, "_sync_file", sync)
    yield sync
    sync.release.set()  # never leave a syncer thread waiting


def add(email: str) -> object:
    def work(conn: Connection) -> str:
        conn.execute(
            insert(accounts).values(email=email, timezone="UTC", region="FR", created_at=utcnow())
        )
        return email

    return work


def emails(engine: Engine) -> set[str]:
    with reading(engine) as conn:
        return set(conn.execute(select(accounts.c.email)).scalars())


def in_thread(target: object, *args: object) -> tuple[threading.Thread, list[object]]:
    result: list[object] = []

    def run() -> None:
        try:
            result.append(target(*args))  # type: ignore[operator]
        except BaseException as exc:
            result.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_the_answer_waits_for_the_wal_sync(sqlite_engine: Engine, held: HeldSync) -> None:
    thread, result = in_thread(run_write, sqlite_engine, add("a@example.com"))
    assert held.syncing.wait(10)
    # Committed (a reader sees it), but not yet said to be.
    assert "a@example.com" in emails(sqlite_engine)
    thread.join(0.2)
    assert thread.is_alive() and result == []
    held.release.set()
    thread.join(10)
    assert result == ["a@example.com"]
    assert held.files == [f"{sqlite_engine.url.database}-wal"]


def test_a_failed_sync_fails_its_callers(sqlite_engine: Engine, held: HeldSync) -> None:
    held.error = OSError(5, "Input/output error")
    held.release.set()
    with pytest.raises(OSError, match="Input/output error"):
        run_write(sqlite_engine, add("lost@example.com"))
    # The next commit syncs again and stands.
    held.error = None
    assert run_write(sqlite_engine, add("b@example.com")) == "b@example.com"


def test_a_worker_transaction_waits_for_the_sync(sqlite_engine: Engine, held: HeldSync) -> None:
    writer, _ = in_thread(run_write, sqlite_engine, add("a@example.com"))
    assert held.syncing.wait(10)
    began = threading.Event()

    def claim() -> None:
        with sqlite_engine.begin() as conn:
            began.set()
            conn.execute(select(func.count()).select_from(accounts))

    worker, result = in_thread(claim)
    assert not began.wait(0.3)  # held back: what it would read is not on disk yet
    held.release.set()
    assert began.wait(10)
    worker.join(10)
    writer.join(10)
    assert result == [None]


def test_reads_do_not_wait_for_the_sync(sqlite_engine: Engine, held: HeldSync) -> None:
    writer, _ = in_thread(run_write, sqlite_engine, add("a@example.com"))
    assert held.syncing.wait(10)
    assert "a@example.com" in emails(sqlite_engine)
    held.release.set()
    writer.join(10)


def synchronous_level(conn: Connection) -> int:
    return int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())


def test_only_the_writer_commits_at_normal(sqlite_engine: Engine) -> None:
    full, normal = 2, 1
    for _ in range(3):  # the same pooled connections change hands
        assert run_write(sqlite_engine, synchronous_level) == normal
        with sqlite_engine.begin() as conn:
            assert synchronous_level(conn) == full
        with reading(sqlite_engine) as conn:
            assert synchronous_level(conn) == full


def test_normal_configured_has_no_syncer(
    tmp_path: Path, sqlite_template: Path, held: HeldSync
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copyfile(sqlite_template, data_dir / "simgate.db")
    engine = make_engine(Settings(data_dir=data_dir, sqlite_synchronous="NORMAL"))
    try:
        assert run_write(engine, add("a@example.com")) == "a@example.com"
        assert run_write(engine, synchronous_level) == 1
        with engine.begin() as conn:
            assert synchronous_level(conn) == 1
        assert held.files == []
    finally:
        engine.dispose()


def test_a_commit_hook_of_the_writer_wakes_its_worker_once_on_disk(
    sqlite_engine: Engine, held: HeldSync
) -> None:
    """The dispatcher's and webhook sender's wake-ups ride with the callers'
    settling: one wake of the event loop per commit, not one at the commit
    and one at the sync (a woken worker's transaction waits for it anyway)."""
    woken = threading.Event()
    undo = watch_commits(sqlite_engine, "test", inserts_into(accounts), woken.set)
    try:
        thread, result = in_thread(run_write, sqlite_engine, add("a@example.com"))
        assert held.syncing.wait(10)
        assert not woken.wait(0.2)  # committed, not yet on disk
        held.release.set()
        assert woken.wait(10)
        thread.join(10)
        assert result == ["a@example.com"]
        woken.clear()
        with sqlite_engine.begin() as conn:  # outside the writer: at once, as before
            add("b@example.com")(conn)
        assert woken.is_set()
    finally:
        undo()
