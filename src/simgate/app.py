"""The one place that wires everything: settings → engine → app → workers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from simgate import __version__, web
from simgate.api import devices, docs, errors, links, v1
from simgate.config import Settings
from simgate.store.db import make_engine, upgrade
from simgate.workers import dispatcher, reports
from simgate.workers import retention as pruner
from simgate.workers import webhooks as webhook_sender
from simgate.workers.hub import Hub

log = logging.getLogger(__name__)

# Background workers started with the app; each is `async def run(app, stop_event)`.
Worker = Callable[[FastAPI, asyncio.Event], Awaitable[None]]


# How long shutdown waits for store work still running in worker threads
# (a device's last heartbeat, a report batch): the engine is disposed after,
# and a connection handed back to a disposed pool is never closed.
SHUTDOWN_THREADS_SECONDS = 5.0


async def _threads_done(timeout: float) -> None:
    limiter = anyio.to_thread.current_default_thread_limiter()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while limiter.borrowed_tokens and loop.time() < deadline:
        await asyncio.sleep(0.01)


def create_app(settings: Settings, engine: Engine | None = None, migrate: bool = True) -> FastAPI:
    engine = engine or make_engine(settings)
    if migrate:
        upgrade(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        event: asyncio.Event = app.state.dispatch_event

        def wake_dispatcher() -> None:
            # Callable from the event loop and from worker threads alike.
            loop.call_soon_threadsafe(event.set)

        app.state.wake_dispatcher = wake_dispatcher
        tasks = [asyncio.create_task(start(app, stop)) for start in app.state.workers]
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await _threads_done(SHUTDOWN_THREADS_SECONDS)

    app = FastAPI(
        title="simgate",
        version=__version__,
        description=(
            "Self-hosted SMS and call gateway speaking the inSIM HTTP API. "
            "Whole-request errors answer `{result: failed, errors: [CODE], info}`; "
            "per-message codes are listed in docs/errors.md."
        ),
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc come from api/docs.py, without a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.public_url = settings.resolved_public_url()
    app.state.node_name = settings.resolved_node_name()
    app.state.hub = Hub()
    app.state.dialer = app.state.hub  # click-to-call goes to a connected phone
    app.state.dispatch_event = asyncio.Event()
    app.state.wake_dispatcher = lambda: None  # replaced once the loop runs
    app.state.reports = reports.ReportQueue()
    app.state.workers = [dispatcher.run, reports.run]
    app.state.wake_webhooks = lambda: None  # the sender replaces it when it starts
    app.state.workers.append(webhook_sender.run)
    app.state.workers.append(pruner.run)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> JSONResponse:
        def ping() -> None:
            # On the driver's connection, outside any transaction: SQLAlchemy's
            # would begin one, which on SQLite (BEGIN IMMEDIATE) queues for the
            # write lock behind whatever the workers are writing.
            raw = engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute("SELECT 1")
                cursor.close()
            finally:
                raw.close()  # back to the pool, which rolls back what psycopg began

        try:
            await run_in_threadpool(ping)
        except Exception as exc:  # the store is down: say so, do not crash
            log.warning("health check failed: %s", type(exc).__name__)
            return JSONResponse(
                {"status": "error", "database": "unreachable", "version": __version__},
                status_code=503,
            )
        return JSONResponse(
            {"status": "ok", "database": engine.dialect.name, "version": __version__}
        )

    app.include_router(v1.router)
    errors.install(app)
    docs.install(app)
    app.include_router(devices.router)
    web.install(app)  # the dashboard under /app/
    # Short links live at the root and must come last so that they never
    # shadow another route.
    app.include_router(links.router)
    return app
