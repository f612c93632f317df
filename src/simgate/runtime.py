"""What one running node is made of, built once and handed around explicitly.

`bootstrap(settings)` builds the `Runtime`: the store, the settings, this
node's name and public URL, the devices connected here (hub), the device
reports waiting to be stored, the clock, the wake-ups of the workers and the
supervisor that runs them. `create_app` (app.py) serves it; routes receive it
through the `RuntimeDep` dependency and workers as their first argument. No
other module reads `app.state`.

Waking the workers has one path, the commit hooks installed by `start`: a
transaction that queues messages (or frees a phone) wakes the dispatcher
when it commits, one that writes outbox rows wakes the webhook sender; on
PostgreSQL a NOTIFY carries the news to the other nodes, whose wake listener
passes it on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

import anyio.to_thread
from fastapi import Depends, FastAPI
from sqlalchemy import Engine
from starlette.requests import HTTPConnection

from simgate import metrics
from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.config import Settings
from simgate.device import fastjson
from simgate.domain.rate_limit import RateLimiter
from simgate.services.calls import Dialer
from simgate.store.db import make_engine, upgrade
from simgate.workers.app_streams import AppStreams
from simgate.workers.hub import Hub
from simgate.workers.reports import ReportQueue
from simgate.workers.supervisor import Supervisor, Worker
from simgate.workers.wake import WakeListener, Wakeup

if TYPE_CHECKING:
    from simgate.web.common import WebState

log = logging.getLogger(__name__)

# How long shutdown waits for store work still running in worker threads
# (a device's last heartbeat, a report batch): the engine is disposed after,
# and a connection handed back to a disposed pool is never closed.
SHUTDOWN_THREADS_SECONDS = 5.0
# A stopping node's last second goes to that wait and to closing the store.
SHUTDOWN_RESERVE_SECONDS = 1.0
# How long a stopping node waits for its phones to acknowledge what they were
# just handed before it closes their sockets (they ack on receipt, in ms).
DRAIN_ACKS_SECONDS = 2.0


@dataclass(eq=False)
class Runtime:
    settings: Settings
    engine: Engine
    public_url: str
    node_name: str
    clock: Clock
    hub: Hub
    dialer: Dialer  # click-to-call goes to a connected phone: the hub
    reports: ReportQueue
    wake_dispatcher: Wakeup
    wake_webhooks: Wakeup
    workers: Supervisor
    web: WebState
    # SMS Gateway apps with an event stream open here (api/mobile.py).
    app_streams: AppStreams
    # v2 API requests per account (per node: each node keeps its own buckets).
    v2_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0, 1))
    # PostgreSQL only: hears the other nodes' NOTIFYs.
    listener: WakeListener | None = None
    # Set from the start of shutdown: /readyz turns traffic away.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # Set at SIGTERM, before connections close: the dispatcher hands out no more.
    draining: asyncio.Event = field(default_factory=asyncio.Event)
    # Held by the dispatcher while it claims and hands over one round.
    handing_over: asyncio.Lock = field(default_factory=asyncio.Lock)
    # time.monotonic() by which a stop asked for (SIGTERM) must be over; None
    # for a stop nobody timed (tests), which keeps the workers' own grace.
    shutdown_deadline: float | None = None
    _undo: list[Callable[[], None]] = field(default_factory=list)

    def time_left(self) -> float | None:
        """Seconds until `shutdown_deadline`, None when there is none."""
        if self.shutdown_deadline is None:
            return None
        return max(0.0, self.shutdown_deadline - time.monotonic())

    async def drain(self) -> None:
        """The first step of a stop asked for, while connections are still open:
        hand out no more work, and give the phones a moment to acknowledge what
        they were handed, so that what they hold stays theirs and what they
        never got goes back to the queue when their sockets close."""
        from simgate.services import devices

        self.draining.set()
        budget = DRAIN_ACKS_SECONDS
        if (left := self.time_left()) is not None:
            budget = min(budget, left / 4)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        try:
            # The round under way ends (its frames queued to the phones); none starts after.
            async with asyncio.timeout(budget):
                async with self.handing_over:
                    pass
            # Phones on the WebSocket only: an SMS Gateway app keeps what it
            # pulled when its stream ends, and acknowledges it by reporting.
            while (linked := self._socket_phones()) and loop.time() < deadline:
                if not await anyio.to_thread.run_sync(devices.unacked, self.engine, linked):
                    return
                await asyncio.sleep(0.05)
        except TimeoutError:
            pass
        except Exception as exc:  # the store is down: the sockets close all the same
            log.warning("drain: could not count unacknowledged messages: %s", exc)

    async def start(self) -> None:
        """Install the commit hooks and start the workers (the app's startup)."""
        from simgate.workers import dispatcher, webhooks

        loop = asyncio.get_running_loop()
        self.wake_dispatcher.attach(loop)
        self.wake_webhooks.attach(loop)
        self.stopping.clear()
        self.draining.clear()
        self._undo = [dispatcher.wake_on_commits(self), webhooks.wake_on_commits(self)]
        self.workers.start(self, self.stopping)

    def _socket_phones(self) -> list[int]:
        return [d for d in self.hub.links if not self.app_streams.streaming(d)]

    async def stop(self) -> None:
        """Stop the workers and wait for their store work (the app's shutdown)."""
        self.stopping.set()
        # Waiting workers see `stopping` now rather than at their next poll.
        self.wake_dispatcher.set()
        self.wake_webhooks.set()
        left = self.time_left()
        if left is None:
            await self.workers.shutdown()
        else:
            await self.workers.shutdown(max(0.5, left - SHUTDOWN_RESERVE_SECONDS))
        for undo in self._undo:
            undo()
        self._undo = []
        left = self.time_left()
        await _threads_done(
            SHUTDOWN_THREADS_SECONDS if left is None else min(SHUTDOWN_THREADS_SECONDS, left)
        )


def bootstrap(
    settings: Settings,
    engine: Engine | None = None,
    migrate: bool = True,
    clock: Clock = SYSTEM_CLOCK,
) -> Runtime:
    """Build a node's runtime; nothing runs until `start`."""
    from simgate import web
    from simgate.workers import dispatcher, reports, retention, rollups, webhooks

    # The server writes a hand-over and two acks per SMS to the phones; it
    # always has orjson (the agent on a phone may not: device/fastjson.py).
    fastjson.use_orjson()
    engine = engine or make_engine(settings)
    metrics.watch(engine)  # counts made in transactions apply at their commits
    if migrate:
        upgrade(engine)
    hub = Hub()
    wake_dispatcher, wake_webhooks = Wakeup(), Wakeup()
    listener = None
    if engine.dialect.name == "postgresql":

        def new_messages() -> None:  # another node's NOTIFY on the dispatcher's channel
            hub.work_came()
            wake_dispatcher.set()

        listener = WakeListener(
            engine, {dispatcher.CHANNEL: new_messages, webhooks.CHANNEL: wake_webhooks.set}
        )
    runtime = Runtime(
        settings=settings,
        engine=engine,
        public_url=settings.resolved_public_url(),
        node_name=settings.resolved_node_name(),
        clock=clock,
        hub=hub,
        dialer=hub,
        reports=ReportQueue(),
        wake_dispatcher=wake_dispatcher,
        wake_webhooks=wake_webhooks,
        workers=Supervisor(clock),
        web=web.make_state(settings, clock),
        app_streams=AppStreams(hub, clock),
        v2_limiter=RateLimiter(
            settings.api_v2_requests_per_minute, max(1, settings.api_v2_requests_per_minute)
        ),
        listener=listener,
    )
    # The background workers; one more is one more line here.
    runtime.workers.add(Worker("dispatcher", dispatcher.run))
    runtime.workers.add(Worker("reports", reports.run))
    runtime.workers.add(Worker("webhooks", webhooks.run))
    runtime.workers.add(Worker("pruner", retention.run))
    if listener is not None:
        runtime.workers.add(Worker("wake-listener", listener.run, ready=listener.ready))
    if engine.dialect.name == "postgresql":  # SQLite's triggers need no compaction
        runtime.workers.add(Worker("rollups", rollups.run))
    return runtime


def runtime_of(app: FastAPI) -> Runtime:
    """The runtime `create_app` built for `app`."""
    runtime: Runtime = app.state.runtime
    return runtime


def get_runtime(connection: HTTPConnection) -> Runtime:
    """The runtime serving this request (HTTP and WebSocket alike)."""
    return runtime_of(connection.app)


async def _runtime_dependency(connection: HTTPConnection) -> Runtime:
    # Async so that FastAPI calls it on the event loop: a plain function
    # dependency costs every request a hop to a worker thread and back.
    return runtime_of(connection.app)


RuntimeDep = Annotated[Runtime, Depends(_runtime_dependency)]


async def _threads_done(timeout: float) -> None:
    limiter = anyio.to_thread.current_default_thread_limiter()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while limiter.borrowed_tokens and loop.time() < deadline:
        await asyncio.sleep(0.01)
