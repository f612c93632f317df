"""Waking a worker when rows it cares about are committed.

On this node: engine events note a transaction that ran a statement the
worker cares about (say, an INSERT into `webhooks`) and call `wake` once the
connection goes back to the pool, which is after the commit, so the rows are
visible to the worker's claim by then.

Across nodes (PostgreSQL): the same transaction sends a NOTIFY on the worker's
channel, delivered by the database at commit, and every node LISTENs on a
connection of its own (`WakeListener`, a supervised worker that says when it
is listening). Each worker's poll covers everything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Table, event
from sqlalchemy.sql import Insert

if TYPE_CHECKING:
    from simgate.runtime import Runtime

log = logging.getLogger(__name__)

# Is this statement (clause, execution options) one the worker must hear of?
Wrote = Callable[[Any, Any], bool]

# How long the listener blocks on its connection before it looks at `stop`.
LISTEN_POLL_SECONDS = 0.5


class Wakeup:
    """Wakes one worker's loop. `set` is safe from any thread, and before the
    loop runs (the worker then finds it set)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop the worker waits in (the app's, once it runs)."""
        self._loop = loop

    def set(self) -> None:
        loop = self._loop
        if loop is None:
            self._event.set()
            return
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is loop:
            self._event.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed: nothing to wake
                loop.call_soon_threadsafe(self._event.set)

    def clear(self) -> None:
        self._event.clear()

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self, timeout: float) -> bool:
        """Wait until set or `timeout` seconds; True if set."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        return True


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


class WakeListener:
    """PostgreSQL: LISTEN on every worker's channel, on a connection of its own,
    and wake the worker of each NOTIFY. A supervised worker: a lost connection
    ends `run` with its error, and the supervisor starts it again."""

    def __init__(self, engine: Engine, wakes: Mapping[str, Callable[[], None]]) -> None:
        self.engine = engine
        self.wakes = dict(wakes)
        # Set while LISTEN is in force: NOTIFYs from other nodes reach this one.
        self.listening = threading.Event()

    def ready(self) -> bool:
        return self.listening.is_set()

    async def run(self, _runtime: Runtime, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bool] = loop.create_future()
        stopped = threading.Event()

        def settle(error: BaseException | None) -> None:
            if done.done():
                return
            if error is None:
                done.set_result(True)
            else:
                done.set_exception(error)

        def listen() -> None:
            error: BaseException | None = None
            try:
                self._listen(stopped)
            except BaseException as exc:  # handed to the supervisor, which logs it
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(settle, error)

        # A thread of its own: it blocks on its connection for as long as the
        # node runs, and must not hold one of the thread pool's places.
        threading.Thread(target=listen, name="simgate-listen", daemon=True).start()
        stopping: asyncio.Future[bool] = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait([done, stopping], return_when=asyncio.FIRST_COMPLETED)
            if done.done():
                done.result()  # raises what ended the thread
                raise ConnectionError("the LISTEN connection closed")
        finally:
            stopped.set()  # the thread ends within LISTEN_POLL_SECONDS
            stopping.cancel()
            self.listening.clear()

    def _listen(self, stopped: threading.Event) -> None:
        import psycopg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as conn:
            for channel in self.wakes:
                conn.execute(f"LISTEN {channel}")
            self.listening.set()
            try:
                while not stopped.is_set():
                    for note in conn.notifies(timeout=LISTEN_POLL_SECONDS, stop_after=1):
                        wake = self.wakes.get(note.channel)
                        if wake is not None:
                            wake()
            finally:
                self.listening.clear()
