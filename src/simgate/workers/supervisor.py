"""Keeps the background workers running, and says how each one is doing.

A worker is `async def run(runtime, stop)`: it works until `stop` is set.
One that raises (or returns before `stop`) is logged with its traceback and
started again after a back-off that doubles from RESTART_FIRST_SECONDS up to
RESTART_MAX_SECONDS, and starts over once a run has lasted RESTART_MAX_SECONDS:
a store that is down for a minute costs a few log lines, not a dead node.
`/healthz` shows each worker's status and `/readyz` wants them all up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simgate.clock import Clock
    from simgate.runtime import Runtime

log = logging.getLogger(__name__)

RESTART_FIRST_SECONDS = 0.25
RESTART_MAX_SECONDS = 15.0
# At shutdown, how long workers have to finish the step under way and return
# once `stop` is set, before they are cancelled. Cancelling one that waits for
# a thread leaves the thread running (anyio frees its place at once), and it
# could still be using the store when the engine is disposed.
SHUTDOWN_GRACE_SECONDS = 5.0

WorkerRun = Callable[["Runtime", asyncio.Event], Awaitable[None]]


@dataclass(frozen=True)
class Worker:
    name: str
    run: WorkerRun
    # Beyond running: can the worker do its job yet? (The wake listener: is
    # LISTEN in force.) None means running is enough.
    ready: Callable[[], bool] | None = None


@dataclass
class WorkerStatus:
    name: str
    running: bool = False
    restarts: int = 0
    last_error: str | None = None


class Supervisor:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._workers: list[Worker] = []
        self._status: dict[str, WorkerStatus] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def add(self, worker: Worker) -> None:
        """Register a worker; those added after `start` run from the next start."""
        if worker.name in self._status:
            raise ValueError(f"a worker named {worker.name!r} is already registered")
        self._workers.append(worker)
        self._status[worker.name] = WorkerStatus(worker.name)

    def start(self, runtime: Runtime, stop: asyncio.Event) -> None:
        self._tasks = [
            asyncio.create_task(self._keep(worker, runtime, stop), name=f"worker-{worker.name}")
            for worker in self._workers
        ]

    async def shutdown(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Once `stop` is set: wait for the workers to return, then cancel the
        ones still running after `grace` seconds (a stop asked for by SIGTERM
        gives what is left of its bound, runtime.py)."""
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=grace)
            for task in late:
                log.warning("worker %s did not stop in time; cancelled", task.get_name())
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def report(self) -> list[dict[str, Any]]:
        """Each worker: name, running, ready, restarts, last_error."""
        rows = []
        for worker in self._workers:
            status = self._status[worker.name]
            ready = status.running and (worker.ready is None or worker.ready())
            rows.append(
                {
                    "name": worker.name,
                    "running": status.running,
                    "ready": ready,
                    "restarts": status.restarts,
                    "last_error": status.last_error,
                }
            )
        return rows

    def not_ready(self) -> list[str]:
        """Why some workers cannot do their job now; empty when all can."""
        reasons = []
        for row in self.report():
            if not row["running"]:
                why = f" after {row['last_error']}" if row["last_error"] else ""
                reasons.append(f"worker {row['name']} is not running{why}")
            elif not row["ready"]:
                reasons.append(f"worker {row['name']} is not ready")
        return reasons

    async def _keep(self, worker: Worker, runtime: Runtime, stop: asyncio.Event) -> None:
        status = self._status[worker.name]
        delay = RESTART_FIRST_SECONDS
        while not stop.is_set():
            started = self.clock.monotonic()
            status.running = True
            try:
                await worker.run(runtime, stop)
                if stop.is_set():
                    return
                raise RuntimeError("stopped by itself")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.clock.monotonic() - started >= RESTART_MAX_SECONDS:
                    delay = RESTART_FIRST_SECONDS  # it ran a good while: not a crash loop
                status.last_error = f"{type(exc).__name__}: {exc}"[:300]
                log.exception(
                    "worker %s crashed; restarting in %.2f s",
                    worker.name,
                    delay,
                    extra={"action": "worker_crash", "worker": worker.name},
                )
            finally:
                status.running = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                return
            status.restarts += 1
            delay = min(delay * 2, RESTART_MAX_SECONDS)
