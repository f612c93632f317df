"""The ASGI app: the runtime (runtime.py) served over HTTP, with its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from simgate import __version__, web
from simgate.api import devices, docs, errors, links, metrics, mobile, v1, v2
from simgate.api.fast import App
from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.config import Settings
from simgate.runtime import Runtime, RuntimeDep, bootstrap
from simgate.store.db import head_revision, ping, schema_revision

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    engine: Engine | None = None,
    migrate: bool = True,
    clock: Clock = SYSTEM_CLOCK,
) -> FastAPI:
    runtime = bootstrap(settings, engine, migrate, clock)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = App(  # FastAPI with a short way in for sendsms (api/fast.py)
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
    app.state.runtime = runtime  # read only through simgate.runtime
    _install_probes(app, head_revision())

    app.include_router(v1.router)
    app.include_router(v2.router)
    errors.install(app)
    docs.install(app)
    app.include_router(devices.router)
    app.include_router(mobile.router)  # the SMS Gateway app's private-server API
    app.include_router(metrics.router)  # /metrics, for Prometheus (api/metrics.py)
    web.install(app)  # the dashboard under /app/
    # Short links live at the root and must come last so that they never
    # shadow another route.
    app.include_router(links.router)
    return app


def _install_probes(app: FastAPI, head: str) -> None:
    """`/healthz` (is this process alive, and how are its parts) and `/readyz`
    (should a load balancer send it traffic)."""

    @app.get("/healthz", tags=["operations"])
    async def healthz(runtime: RuntimeDep) -> JSONResponse:
        body = {
            "status": "ok",
            "database": runtime.engine.dialect.name,
            "version": __version__,
            "workers": runtime.workers.report(),
        }
        try:
            await run_in_threadpool(ping, runtime.engine)
        except Exception as exc:  # the store is down: say so, do not crash
            log.warning("health check failed: %s", type(exc).__name__)
            body |= {"status": "error", "database": "unreachable"}
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    @app.get("/readyz", tags=["operations"])
    async def readyz(runtime: RuntimeDep) -> JSONResponse:
        reasons = await _not_ready(runtime, head)
        if reasons:
            return JSONResponse({"status": "not ready", "reasons": reasons}, status_code=503)
        return JSONResponse({"status": "ready", "reasons": []})


async def _not_ready(runtime: Runtime, head: str) -> list[str]:
    if runtime.stopping.is_set() or runtime.draining.is_set():
        return ["shutting down"]
    try:
        revision = await run_in_threadpool(schema_revision, runtime.engine)
    except Exception as exc:
        log.warning("readiness check failed: %s", type(exc).__name__)
        return [f"store unreachable ({type(exc).__name__})"]
    reasons = []
    if revision != head:
        reasons.append(f"migrations not at head (store at {revision}, this code at {head})")
    return reasons + runtime.workers.not_ready()
