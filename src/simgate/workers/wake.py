"""Waking a worker when rows it cares about are committed.

On this node: engine events note a transaction that ran a statement the
worker cares about (say, an INSERT into `webhooks`) and call `wake` once the
connection goes back to the pool, which is after the commit, so the rows are
visible to the worker's claim by then.

Across nodes (PostgreSQL): the same transaction sends a NOTIFY on the worker's
channel, delivered by the database at commit, and every node LISTENs on a
connection of its own. Each worker's poll covers everything else.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, Table, event
from sqlalchemy.sql import Insert

log = logging.getLogger(__name__)

# Is this statement (clause, execution options) one the worker must hear of?
Wrote = Callable[[Any, Any], bool]


def inserts_into(table: Table) -> Wrote:
    return lambda clause, _options: isinstance(clause, Insert) and clause.table is table


def watch_commits(
    engine: Engine, channel: str, wrote: Wrote, wake: Callable[[], None]
) -> Callable[[], None]:
    """Call `wake` after each commit on `engine` that ran a statement `wrote`
    picks, and NOTIFY `channel` in that transaction on PostgreSQL; returns an undo."""
    postgres = engine.dialect.name == "postgresql"
    flag = f"simgate_wake_{channel}"

    def after_execute(conn: Any, clause: Any, _m: Any, _p: Any, options: Any, _r: Any) -> None:
        if wrote(clause, options):
            if postgres and conn.info.get(flag) != "written":
                # On the driver's connection: no SQLAlchemy events, same transaction.
                conn.connection.dbapi_connection.execute(f"NOTIFY {channel}")
            conn.info[flag] = "written"

    def on_commit(conn: Any) -> None:
        if conn.info.get(flag) == "written":
            conn.info[flag] = "committed"

    def on_rollback(conn: Any) -> None:
        if conn.info.get(flag) == "written":
            conn.info.pop(flag, None)

    def on_checkin(_dbapi: Any, record: Any) -> None:
        if record is not None and record.info.pop(flag, None) == "committed":
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
    engine: Engine, channel: str, wake: Callable[[], None], stopped: threading.Event
) -> None:
    """PostgreSQL: call `wake` on every NOTIFY on `channel` until `stopped` (run it in a thread)."""
    import psycopg

    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    while not stopped.is_set():
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"LISTEN {channel}")
                while not stopped.is_set():
                    for _ in conn.notifies(timeout=0.5, stop_after=1):
                        wake()
        except Exception as exc:  # the poll carries on meanwhile
            log.warning("LISTEN %s failed (%s); retrying", channel, type(exc).__name__)
            stopped.wait(2.0)


def listen_in_thread(engine: Engine, channel: str, wake: Callable[[], None]) -> threading.Event:
    """Start `listen` in a daemon thread on PostgreSQL; set the returned event to stop it."""
    stopped = threading.Event()
    if engine.dialect.name == "postgresql":
        threading.Thread(
            target=listen,
            args=(engine, channel, wake, stopped),
            name=f"listen-{channel}",
            daemon=True,
        ).start()
    return stopped
