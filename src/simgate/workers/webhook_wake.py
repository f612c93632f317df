"""Waking the webhook sender when outbox rows are committed.

On this node: engine events note a transaction that wrote `webhooks` rows (or
ran a statement marked with webhook_admin.WAKE, as replays are) and call
`wake` once the connection goes back to the pool, which is after the commit,
so the rows are visible to the claim by then.

Across nodes (PostgreSQL): the same transaction sends a NOTIFY, delivered by
the database at commit, and every sender LISTENs on a connection of its own.
The sender's one-second poll covers everything else.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.sql import Insert

from simgate.services.webhook_admin import WAKE_OPTION
from simgate.store.tables import webhooks

log = logging.getLogger(__name__)

CHANNEL = "simgate_webhooks"
_FLAG = "simgate_outbox"


def watch_commits(engine: Engine, wake: Callable[[], None]) -> Callable[[], None]:
    """Call `wake` after each commit on `engine` that wrote outbox rows; returns an undo."""
    postgres = engine.dialect.name == "postgresql"

    def after_execute(conn: Any, clause: Any, _m: Any, _p: Any, options: Any, _r: Any) -> None:
        if (isinstance(clause, Insert) and clause.table is webhooks) or options.get(WAKE_OPTION):
            if postgres and conn.info.get(_FLAG) != "written":
                # On the driver's connection: no SQLAlchemy events, same transaction.
                conn.connection.dbapi_connection.execute(f"NOTIFY {CHANNEL}")
            conn.info[_FLAG] = "written"

    def on_commit(conn: Any) -> None:
        if conn.info.get(_FLAG) == "written":
            conn.info[_FLAG] = "committed"

    def on_rollback(conn: Any) -> None:
        if conn.info.get(_FLAG) == "written":
            conn.info.pop(_FLAG, None)

    def on_checkin(_dbapi: Any, record: Any) -> None:
        if record is not None and record.info.pop(_FLAG, None) == "committed":
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


def listen(engine: Engine, wake: Callable[[], None], stopped: threading.Event) -> None:
    """PostgreSQL: call `wake` on every outbox NOTIFY until `stopped` (run it in a thread)."""
    import psycopg

    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    while not stopped.is_set():
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                while not stopped.is_set():
                    for _ in conn.notifies(timeout=0.5, stop_after=1):
                        wake()
        except Exception as exc:  # the poll carries on meanwhile
            log.warning("webhook LISTEN failed (%s); retrying", type(exc).__name__)
            stopped.wait(2.0)
