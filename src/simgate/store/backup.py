"""Copies of the SQLite store: `simgate backup` and `simgate restore`.

A backup is taken with SQLite's online backup API while the server runs. It
copies the store in steps of `STEP_PAGES` pages, all read from one snapshot
(a read transaction held from the first step to the last): the copy is the
store as it was at one commit, and a write the server commits meanwhile
neither shows in it nor restarts it. In WAL mode a reader does not block the
writer, so the server keeps taking messages throughout; each step's pages
are flushed to disk before the next, followed by a short rest, so that the
server's own fsyncs never wait behind the whole copy. The copy is a single
file (rollback journal mode, no -wal beside it), fsynced, and appears under
its name only once complete.

A restore checks the file first (integrity_check; an alembic revision this
release knows, so never a store from a newer simgate), copies it beside the
store, fsyncs it and renames it over the store, under the exclusive lock of
store_lock (refused while a server runs). The store it replaces is kept
beside it (`simgate.db.replaced-<UTC time>`, with its -wal if it had one)
unless the caller says not to.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from simgate.store import store_lock
from simgate.store.db import MIGRATIONS

# 4 MiB a step at SQLite's default page size.
STEP_PAGES = 1024
# Rest between steps (seconds): a few ms per 4 MiB, some 0.2 s a GiB.
STEP_REST = 0.002
# The data of a file, not its times (macOS has no fdatasync).
_flush_data = getattr(os, "fdatasync", os.fsync)


class BackupError(Exception):
    """The copy or the restore cannot be done; the message says why."""


@dataclass(frozen=True)
class Copied:
    revision: str
    bytes: int


@dataclass(frozen=True)
class Restored:
    revision: str
    replaced: Path | None  # where the replaced store was kept, if it was


def sqlite_path(database_url: str) -> Path | None:
    """The store file of a SQLite URL; None for any other database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    return Path(url.database)


def backup(store: Path, target: Path, force: bool = False) -> Copied:
    """Copy the store at `store` (live or not) to `target`."""
    if not store.is_file():
        raise BackupError(f"no store at {store}")
    if target.exists() and not force:
        raise BackupError(f"{target} exists; pass --force to overwrite it")
    if target.resolve() == store.resolve():
        raise BackupError("the backup cannot be the store itself")
    with (
        _temporary_beside(target, mode=0o600) as temporary,  # it holds every secret hash
        _opened(temporary) as written,
    ):

        def step(status: int, remaining: int, total: int) -> None:
            # Flushed as it goes: one flush of the whole copy at the end made
            # the server's commits (their fsyncs share the file system's
            # journal) wait behind it, up to half a second at 125 MB.
            _flush_data(written)
            _rest(status, remaining, total)

        with closing(_connect(store)) as source:
            # The read transaction is the snapshot every step copies from.
            source.execute("BEGIN")
            revision = _revision(source)
            with closing(sqlite3.connect(temporary, isolation_level=None)) as copy:
                source.backup(copy, pages=STEP_PAGES, progress=step)
                source.execute("ROLLBACK")
                # One self-contained file: readable without a -wal or -shm.
                copy.execute("PRAGMA journal_mode=DELETE")
        os.fsync(written)
        if force:
            os.replace(temporary, target)
        else:
            try:  # a link fails on an existing name: never overwrites one made meanwhile
                os.link(temporary, target)
            except FileExistsError:
                raise BackupError(f"{target} exists; pass --force to overwrite it") from None
        _fsync_dir(target.parent)
    return Copied(revision=revision, bytes=target.stat().st_size)


def check(path: Path) -> str:
    """The revision of the simgate store in `path`; BackupError if it is not a
    sound store that this release can run."""
    if not path.is_file():
        raise BackupError(f"no file at {path}")
    try:
        with closing(_connect(path)) as conn:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check(5)")]
            if problems != ["ok"]:
                raise BackupError(f"{path} is damaged: " + "; ".join(problems))
            revision = _revision(conn)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a simgate store: {exc}") from None
    known = known_revisions()
    if revision not in known:
        raise BackupError(
            f"{path} is at revision {revision}, unknown to this simgate "
            f"(newest {max(known)}): it was made by a newer release"
        )
    return revision


def restore(source: Path, store: Path, keep_replaced: bool = True) -> Restored:
    """Put the backup `source` in place of the store at `store`.

    Raises store_lock.StoreInUse while a server runs on the store."""
    revision = check(source)
    if store.exists() and source.resolve() == store.resolve():
        raise BackupError("the backup is the store itself")
    mode = store.stat().st_mode & 0o777 if store.exists() else 0o600
    with store_lock.replacing(store), _temporary_beside(store, mode) as temporary:
        with (
            closing(_connect(source)) as reader,
            closing(sqlite3.connect(temporary, isolation_level=None)) as copy,
        ):
            reader.backup(copy, pages=STEP_PAGES)
            copy.execute("PRAGMA journal_mode=DELETE")  # whole in one file; serve sets WAL
        _fsync(temporary)
        replaced = None
        if keep_replaced:
            _settle(store)
            replaced = _set_aside(store)
        # -wal and -shm belong to the store being replaced: a -wal left
        # beside the new file would be replayed into it.
        for suffix in ("-wal", "-shm"):
            with suppress(FileNotFoundError):
                os.unlink(f"{store}{suffix}")
        os.replace(temporary, store)
        _fsync_dir(store.parent)
    return Restored(revision=revision, replaced=replaced)


def known_revisions() -> set[str]:
    """Every migration this release has."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA query_only=1")  # reads the store, never writes it
    return conn


def _revision(conn: sqlite3.Connection) -> str:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        row = None
    if row is None:
        raise BackupError("not a simgate store (no migration recorded)")
    return str(row[0])


def _rest(_status: int, _remaining: int, _total: int) -> None:
    time.sleep(STEP_REST)


def _settle(store: Path) -> None:
    """Fold the old store's -wal into it, so that the file kept aside is whole
    (best effort: a damaged store is kept as it is, -wal included)."""
    if not os.path.exists(f"{store}-wal"):
        return
    with suppress(sqlite3.DatabaseError), closing(sqlite3.connect(store, timeout=5)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _set_aside(store: Path) -> Path | None:
    if not store.exists():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = store.with_name(f"{store.name}.replaced-{stamp}")
    # A link, not a rename: the store stays in place until the new one replaces it.
    os.link(store, aside)
    if os.path.exists(f"{store}-wal") and os.path.getsize(f"{store}-wal"):
        os.link(f"{store}-wal", f"{aside}-wal")
    return aside


@contextmanager
def _temporary_beside(path: Path, mode: int) -> Iterator[Path]:
    """An empty file (an empty SQLite database) with permissions `mode` in
    `path`'s folder (same file system: renames are atomic), removed at the end
    unless it was renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    for leftover in (temporary, Path(f"{temporary}-journal")):
        with suppress(FileNotFoundError):
            leftover.unlink()
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
    try:
        yield temporary
    finally:
        with suppress(FileNotFoundError):
            temporary.unlink()


@contextmanager
def _opened(path: Path) -> Iterator[int]:
    """A descriptor of `path` to flush it by (fsync needs no write access)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        yield fd
    finally:
        os.close(fd)


def _fsync(path: Path) -> None:
    with _opened(path) as fd:
        os.fsync(fd)


def _fsync_dir(folder: Path) -> None:
    """Make a rename or link in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
