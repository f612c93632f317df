"""Helpers for the SDK tests: a misbehaving loopback proxy and request counters."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal

import httpx
from sqlalchemy import Engine, func, select

from simgate.store.tables import messages
from tests.support import http_client
from tests.support.loopback_http import LoopbackHTTPServer

Mode = Literal["drop", "delay", "503"]


class FlakyProxy(LoopbackHTTPServer):
    """An HTTP proxy on 127.0.0.1 in front of the live server whose first
    `faults` requests go wrong on purpose:

    - "drop":  forwarded (so the server stores them), then the connection is
               closed without an answer;
    - "delay": forwarded, and the answer held back for `delay` seconds (past
               the client's timeout);
    - "503":   not forwarded; answered 503.
    """

    def __init__(self, upstream: str, mode: Mode, faults: int = 1, delay: float = 1.0) -> None:
        self.upstream = upstream
        self.mode = mode
        self.faults = faults
        self.delay = delay
        self.forwarded = 0
        self.received = 0
        self._lock = threading.Lock()
        super().__init__()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with proxy._lock:
                    proxy.received += 1
                    faulty = proxy.received <= proxy.faults
                if faulty and proxy.mode == "503":
                    self._answer(503, json.dumps({"detail": "busy"}).encode())
                    return
                answer = http_client.post(
                    proxy.upstream + self.path,
                    content=body,
                    headers={"content-type": "application/json"},
                    timeout=30,
                )
                with proxy._lock:
                    proxy.forwarded += 1
                if faulty and proxy.mode == "drop":
                    self.close_connection = True  # stored upstream, never answered
                    return
                if faulty and proxy.mode == "delay":
                    time.sleep(proxy.delay)
                try:
                    self._answer(answer.status_code, answer.content)
                except OSError:  # the client gave up waiting
                    self.close_connection = True

            def _answer(self, status: int, content: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        return Handler


class CountingTransport(httpx.HTTPTransport):
    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return super().handle_request(request)


class AsyncCountingTransport(httpx.AsyncHTTPTransport):
    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return await super().handle_async_request(request)


def stored_ids(engine: Engine, account_id: int) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(messages.c.id_sms_api).where(messages.c.account_id == account_id)
        )
        return sorted(r.id_sms_api for r in rows)


def count_messages(engine: Engine, account_id: int) -> int:
    with engine.connect() as conn:
        query = select(func.count()).where(messages.c.account_id == account_id)
        return int(conn.execute(query).scalar_one())


class RecordingServer(LoopbackHTTPServer):
    """A loopback HTTP server that records each POST (path and JSON body) and
    answers from `answers`: path -> (status, body), or a list of them taken in
    turn (the last one repeats). Unknown paths get `{"success": true}`."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.answers: dict[str, Any] = {}
        self.headers: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        super().__init__()

    def answer(self, path: str, body: Any, status: int = 200, **headers: str) -> None:
        self.answers[path] = (status, body)
        self.headers[path] = headers

    def last(self) -> tuple[str, Any]:
        return self.requests[-1]

    def _next_answer(self, path: str) -> tuple[int, Any]:
        with self._lock:
            planned = self.answers.get(path, (200, {"success": True}))
            if isinstance(planned, list):
                return planned.pop(0) if len(planned) > 1 else planned[0]
            return planned  # type: ignore[no-any-return]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                with recorder._lock:
                    recorder.requests.append((self.path, json.loads(raw)))
                status, body = recorder._next_answer(self.path)
                content = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(content)))
                for name, value in recorder.headers.get(self.path, {}).items():
                    self.send_header(name.replace("_", "-"), value)
                self.end_headers()
                self.wfile.write(content)

        return Handler


# The contract's 44 endpoints (reference/insim-v2-api.md section 1.2).
V2_ENDPOINTS = {
    "account", "account/webhooks", "contacts", "contacts/search", "find_contact",
    "contacts/detail", "contacts/switch_pro", "contacts/delete", "contacts/tags",
    "contacts/custom_fields", "sms", "sms/detail", "sms/conversation", "sendsms",
    "sms/delivery_status", "calls", "calls/qualify", "clictocall", "qualifications",
    "qualifications/options", "qualifications/options/create",
    "qualifications/options/update", "qualifications/options/delete",
    "qualifications/stats", "lists", "lists/create", "lists/detail", "lists/update",
    "lists/delete", "lists/contacts/add", "lists/contacts/remove", "lists/contacts/addall",
    "campaigns", "campaigns/create", "campaigns/detail", "campaigns/cancel",
    "campaigns/start", "templates", "templates/create", "templates/update",
    "templates/delete", "templates/send", "stats/overview", "stats/clicks",
}  # fmt: skip
# simgate's own endpoints in the v2 envelope (docs/api-v2.md): the opt-out list.
V2_EXTENSIONS = {"optouts", "optouts/list", "optouts/add", "optouts/remove", "optouts/check"}
