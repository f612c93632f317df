"""Real servers on loopback ports: in-process (uvicorn in a thread) and, from
simgate.testing (shared with the benchmarks), as processes."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import uvicorn

from simgate import serving
from simgate.app import create_app
from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.config import Settings
from simgate.runtime import Runtime, runtime_of
from simgate.testing import ServerProcess, free_port, settings_env, simgate
from tests.support import http_client

# What the tests import from here besides LiveServer.
__all__ = ["LiveServer", "ServerProcess", "free_port", "settings_env", "simgate"]


class LiveServer:
    """The app under uvicorn on 127.0.0.1, in a background thread of this process."""

    def __init__(self, settings: Settings, clock: Clock = SYSTEM_CLOCK, **overrides: Any) -> None:
        # Bound now and handed to uvicorn: a port only picked here could be
        # taken by a parallel test process before the server binds it.
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        # Built, not copied: the overrides are checked and parsed like any setting.
        self.settings = Settings(**{**settings.model_dump(), "port": self.port, **overrides})
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(self.settings, clock=clock)
        self.runtime: Runtime = runtime_of(self.app)
        self.engine = self.runtime.engine
        # Served as `simgate serve` serves it (deadlines, proxy headers).
        config = uvicorn.Config(
            self.app, log_level="warning", **serving.uvicorn_options(self.settings)
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._socket.close()
        # Store work the app started last (a device's "offline" on its way
        # out) may still run in a worker thread: a connection handed back to
        # a disposed pool is never closed, so let it come back first.
        deadline = time.monotonic() + 10
        checkedout = getattr(self.engine.pool, "checkedout", lambda: 0)
        while checkedout() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.engine.dispose()

    def ready(self) -> bool:
        """Every worker running and able to work (on PostgreSQL: LISTEN in force)."""
        return not self.runtime.workers.not_ready()

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return http_client.post(self.url + path, timeout=30, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return http_client.get(self.url + path, timeout=30, **kw)
