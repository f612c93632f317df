"""Waking a worker when rows it cares about are committed.

`Wakeup` wakes one worker's loop from any thread. The commit hooks that set
it on this node, and LISTEN/NOTIFY across nodes, are store/notify.py's; the
`WakeListener` here runs the LISTEN connection as a supervised worker (it
says when it is listening). Each worker's poll covers everything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from simgate.store import notify

if TYPE_CHECKING:
    from simgate.runtime import Runtime

log = logging.getLogger(__name__)

# How long the listener blocks on its connection before it looks at `stop`.
LISTEN_POLL_SECONDS = 0.5


class Wakeup:
    """Wakes one worker's loop. `set` is safe from any thread, and before the
    loop runs (the worker then finds it set)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop the worker waits in (the app's, once it runs); called from
        that loop's thread."""
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def set(self) -> None:
        loop = self._loop
        if loop is None:
            self._event.set()
            return
        # The thread, not asyncio.get_running_loop(): from the SQLite writer,
        # after every commit, that raised and caught a RuntimeError each time.
        if threading.get_ident() == self._loop_thread:
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
        notify.listen(
            self.engine, self.wakes, self._heard, self.listening, stopped, LISTEN_POLL_SECONDS
        )

    def _heard(self, channel: str) -> None:
        wake = self.wakes.get(channel)
        if wake is not None:
            wake()
