"""Receivers on loopback and helpers for the webhook tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from simgate.config import Settings
from simgate.domain.dates import utcnow
from simgate.services import outbox
from simgate.store.tables import webhooks
from tests.receivers.flask_app import FlaskReceiver
from tests.support import http_client
from tests.support.polling import wait_for
from tests.support.servers import LiveServer, free_port

EXPRESS_DIR = Path(__file__).parents[1] / "receivers" / "express"
FAST = "0.2,0.2,0.2"


def emit(engine: Engine, account_id: int, kind: str, payload: dict[str, Any]) -> str:
    """Queue one webhook as a service would (in a transaction); its event id."""
    with engine.begin() as conn:
        assert outbox.enqueue(conn, account_id, kind, payload, now=utcnow())
        return str(
            conn.execute(
                select(webhooks.c.event_id).order_by(webhooks.c.id.desc()).limit(1)
            ).scalar()
        )


def rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(webhooks).order_by(webhooks.c.id)))


class Recorder:
    """A bare HTTP receiver that keeps every request line as sent, byte for byte.

    `answers` is consumed one per request (status, or (status, headers), or
    (status, headers, seconds to wait first)); once empty, `default` answers.
    `stop()` and `start()` take it down and back up on the same port.
    """

    def __init__(self, port: int | None = None) -> None:
        # Without a port, bound at once to one the system picks (one only
        # chosen here could be taken by a parallel test process first), but
        # not listening: until `start`, connections are refused.
        self._server: ThreadingHTTPServer | None = None
        self._unstarted: ThreadingHTTPServer | None = None
        if port is None:
            self._unstarted = ThreadingHTTPServer(
                ("127.0.0.1", 0), self._handler(), bind_and_activate=False
            )
            self._unstarted.server_bind()
            port = int(self._unstarted.server_port)
        self.port = port
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[dict[str, Any]] = []
        self.answers: list[Any] = []
        self.default: Any = 200
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                with recorder.lock:
                    answer = recorder.answers.pop(0) if recorder.answers else recorder.default
                    recorder.active += 1
                    recorder.max_active = max(recorder.max_active, recorder.active)
                answer = answer if isinstance(answer, tuple) else (answer,)
                status = answer[0]
                headers = answer[1] if len(answer) > 1 else {}
                delay = answer[2] if len(answer) > 2 else 0
                if delay:
                    time.sleep(delay)
                with recorder.lock:
                    recorder.active -= 1
                    recorder.requests.append(
                        {
                            "target": self.path,
                            "headers": dict(self.headers),
                            "status": status,
                            "at": time.monotonic(),
                        }
                    )
                body = b"OK"
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> Recorder:
        if self._unstarted is not None:
            server, self._unstarted = self._unstarted, None
            server.server_activate()
        else:
            server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._unstarted is not None:
            self._unstarted.server_close()
            self._unstarted = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def acked(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if 200 <= r["status"] < 300]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder().start()
    yield rec
    rec.stop()


@pytest.fixture
def flask_receiver() -> Iterator[FlaskReceiver]:
    with FlaskReceiver() as receiver:
        yield receiver


class ExpressReceiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [str(shutil.which("node")), "server.js"],
            cwd=EXPRESS_DIR,
            env={**os.environ, "PORT": str(self.port)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._up, timeout=15, every=0.05)

    def _up(self) -> bool:
        try:
            return http_client.get(self.url + "/_log", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def entries(self) -> list[dict[str, Any]]:
        return list(json.loads(http_client.get(self.url + "/_log", timeout=5).text))

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


@pytest.fixture(scope="session")
def express_receiver() -> Iterator[ExpressReceiver]:
    """The Express app, one node process for the session (tests tell entries apart)."""
    if shutil.which("node") is None or not (EXPRESS_DIR / "node_modules" / "express").exists():
        pytest.skip("node or express missing: run `npm install` in tests/receivers/express")
    receiver = ExpressReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def fast_server(settings: Settings) -> Iterator[LiveServer]:
    """A live server whose sender retries after 0.2 s, three times."""
    with LiveServer(settings, webhook_retry_schedule=FAST) as live:
        yield live


def make_account(engine: Engine, email: str = "user@example.com", **urls: str) -> int:
    from simgate.services.accounts import create_account
    from simgate.services.webhook_admin import set_callbacks

    account, _ = create_account(engine, email, "Europe/Paris", "FR")
    if urls:
        set_callbacks(engine, email, urls, allow_private=True)
    return account.id
