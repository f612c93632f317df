"""Real servers on loopback ports: in-process (uvicorn in a thread) and as processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from simgate import serving
from simgate.app import create_app
from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.config import Settings
from simgate.runtime import Runtime, runtime_of


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """The app under uvicorn on 127.0.0.1, in a background thread of this process."""

    def __init__(self, settings: Settings, clock: Clock = SYSTEM_CLOCK, **overrides: Any) -> None:
        self.port = free_port()
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
        self._thread = threading.Thread(target=self._server.run, daemon=True)

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
        return httpx.post(self.url + path, timeout=30, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30, **kw)


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment that makes a `simgate` subprocess use the same store."""
    env = dict(os.environ)
    env["SIMGATE_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url:
        env["SIMGATE_DATABASE_URL"] = settings.database_url
    else:
        env.pop("SIMGATE_DATABASE_URL", None)
    env["SIMGATE_ALLOW_PRIVATE_CALLBACKS"] = "true"
    return env


def simgate(*args: str, settings: Settings, **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run the `simgate` command line against the store of `settings`."""
    return subprocess.run(
        [sys.executable, "-m", "simgate.cli", *args],
        env={**settings_env(settings), **kw.pop("env", {})},
        capture_output=True,
        text=True,
        timeout=kw.pop("timeout", 60),
        **kw,
    )


class ServerProcess:
    """`simgate serve` as a real process (for crash and multi-node tests)."""

    def __init__(
        self,
        settings: Settings,
        *extra: str,
        port: int | None = None,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra = extra
        self.env = {**settings_env(settings), **(env or {})}
        self.log_path = log_path or Path(settings.data_dir).parent / f"server-{self.port}.log"
        self.preexec_fn = preexec_fn  # e.g. resource limits for the server alone
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        Path(self.log_path).parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "simgate.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), *self.extra],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=self.preexec_fn,
            )
        # A guard, not a measure: on two cores shared by parallel test workers
        # a start (some seconds of CPU) has taken more than 30 s.
        deadline = time.monotonic() + 90
        while True:
            try:
                # Ready, not only up: its workers run and, on PostgreSQL, it LISTENs.
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()  # not left running behind the failure (and its warning)
                raise RuntimeError(
                    f"server did not start; see {self.log_path}:\n"
                    + Path(self.log_path).read_text()[-3000:]
                )
            time.sleep(0.1)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
