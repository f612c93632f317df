"""Hearing of committed writes: commit hooks on this node's engine, and
LISTEN/NOTIFY between the nodes sharing a PostgreSQL store.

On this node, engine events note a transaction that ran a statement a worker
cares about (say, an INSERT into `webhooks`) and call `wake` once the
connection goes back to the pool, which is after the commit, so the rows are
visible to the worker's claim by then (for a commit of the SQLite writer:
once it is on disk, with its callers' answers; db.call_when_durable). On
PostgreSQL the same transaction sends a NOTIFY on the worker's channel,
delivered by the database at commit, and every node LISTENs (`listen`, run
by workers/wake.py's WakeListener).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Engine, Table, event
from sqlalchemy.sql import Delete, Insert, Update

from simgate.store.db import call_when_durable

# Is this statement (clause, execution options) one the worker must hear of?
Wrote = Callable[[Any, Any], bool]


def inserts_into(table: Table) -> Wrote:
    return lambda clause, _options: isinstance(clause, Insert) and clause.table is table


def watch_commits(
    engine: Engine,
    channel: str,
    wrote: Wrote,
    wake: Callable[[], None],
    notify: Wrote | None = None,
) -> Callable[[], None]:
    """Call `wake` after each commit on `engine` that ran a statement `wrote`
    picks; on PostgreSQL, NOTIFY `channel` in that transaction when `notify`
    (default: `wrote`) picks one too. Returns an undo."""
    postgres = engine.dialect.name == "postgresql"
    notify = notify or wrote
    flag = f"simgate_wake_{channel}"
    notified = f"simgate_notified_{channel}"

    def after_execute(conn: Any, clause: Any, _m: Any, _p: Any, options: Any, _r: Any) -> None:
        if not wrote(clause, options):
            return
        if postgres and not conn.info.get(notified) and notify(clause, options):
            # On the driver's connection: no SQLAlchemy events, same transaction.
            conn.connection.dbapi_connection.execute(f"NOTIFY {channel}")
            conn.info[notified] = True
        conn.info[flag] = "written"

    def on_commit(conn: Any) -> None:
        conn.info.pop(notified, None)
        if conn.info.get(flag) == "written":
            conn.info[flag] = "committed"

    def on_rollback(conn: Any) -> None:
        conn.info.pop(notified, None)
        if conn.info.get(flag) == "written":
            conn.info.pop(flag, None)

    def on_checkin(_dbapi: Any, record: Any) -> None:
        if record is not None and record.info.pop(flag, None) == "committed":
            if not call_when_durable(wake):
                wake()

    hooks: list[tuple[Any, str, Callable[..., None]]] = [
        (engine, "after_execute", after_execute),
        (engine, "commit", on_commit),
        (engine, "rollback", on_rollback),
        (engine.pool, "checkin", on_checkin),
    ]
    for target, name, fn in hooks:
        event.listen(target, name, fn)

    def remove() -> None:
        for target, name, fn in hooks:
            if event.contains(target, name, fn):
                event.remove(target, name, fn)

    return remove


def listen(
    engine: Engine,
    channels: Iterable[str],
    heard: Callable[[str], None],
    listening: threading.Event,
    stopped: threading.Event,
    poll_seconds: float,
) -> None:
    """PostgreSQL: LISTEN on `channels` on a connection of its own and call
    `heard(channel)` for each NOTIFY, until `stopped` is set (seen within
    `poll_seconds`). `listening` is set while LISTEN is in force. Blocks; a
    lost connection raises."""
    import psycopg

    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        for channel in channels:
            conn.execute(f"LISTEN {channel}")
        listening.set()
        try:
            while not stopped.is_set():
                for note in conn.notifies(timeout=poll_seconds, stop_after=1):
                    heard(note.channel)
        finally:
            listening.clear()


def watch_writes(engine: Engine, tables: Iterable[Table], changed: Callable[[], None]) -> str:
    """Call `changed` whenever a statement on `engine` writes one of `tables`:
    at once, again when its transaction commits and once more when its
    connection goes back to the pool (after the commit). For caches of rows
    that change rarely: whatever a reader cached before the commit is
    forgotten by the time the writer's caller goes on.

    Returns the `conn.info` key that is set while a transaction holds such a
    write not yet committed: its own reads see what others cannot, so they
    must not be cached."""
    watched = frozenset(tables)
    key = f"simgate_wrote_{'_'.join(sorted(t.name for t in watched))}"

    def after_execute(conn: Any, clause: Any, _m: Any, _p: Any, _o: Any, _r: Any) -> None:
        if isinstance(clause, Insert | Update | Delete) and clause.table in watched:
            conn.info[key] = True
            changed()

    def on_end(conn: Any) -> None:
        if conn.info.pop(key, None):
            conn.info[key + "_done"] = True
            changed()

    def on_checkin(_dbapi: Any, record: Any) -> None:
        if record is not None and record.info.pop(key + "_done", None):
            changed()

    event.listen(engine, "after_execute", after_execute)
    event.listen(engine, "commit", on_end)
    event.listen(engine, "rollback", on_end)
    event.listen(engine.pool, "checkin", on_checkin)
    return key
