"""How the app is served: uvicorn's settings, deadlines for slow clients, file limits.

uvicorn closes a connection that is idle *between* requests (its keep-alive
timeout), but waits for ever for a request to arrive: a connection that sends
nothing, or a header line now and then, or a body a byte at a time, holds a
file descriptor until the client leaves. A few hundred of them exhaust the
open-file limit and the server stops accepting anyone (slowloris). So each
connection gets two deadlines, armed and disarmed from uvicorn's own parser
callbacks: a complete request head within `header_timeout_seconds` of the
connection opening (or of the first byte of a next request), and the whole
body within `body_timeout_seconds` of the head. A WebSocket leaves both behind
at its upgrade: devices hold theirs for hours.

A reverse proxy in front (docs/deploy.md) does the same for the Internet and
adds TLS; these deadlines keep a server reached directly, or through a proxy
that buffers nothing, from being held open.

A stop asked for (SIGTERM from systemd, Ctrl-C) is a rolling restart's
first half and fits in `shutdown_timeout_seconds` (`GracefulServer`): the node
stops accepting connections, hands out no more work and lets its phones
acknowledge what they were just handed (`Runtime.drain`), then uvicorn ends
the event streams, closes the phones' sockets (1012, "service restart": what
they never acknowledged goes back to the queue at once and they reconnect to
the next node) and waits for the requests under way; then the workers stop,
the webhook sender letting its requests under way end. Whatever still runs
at the bound is cut off, and the process exits 0 (1 if the bound was hit).

A response that never ends by itself (the SMS Gateway app's event stream)
would hold a graceful shutdown for ever: uvicorn waits for every response
to complete before it runs the app's shutdown. Such an endpoint puts a
callable under `END_AT_SHUTDOWN` in its request's scope, and the protocol
calls it when the server starts shutting down.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any, ClassVar

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from simgate.config import Settings

if TYPE_CHECKING:
    from simgate.runtime import Runtime

log = logging.getLogger(__name__)

# A request head (request line and headers) larger than this is refused with
# 431. httptools buffers a head without bound; nginx's default is 32 KiB.
MAX_HEAD_BYTES = 64 * 1024
# The scope key of a callable that ends a never-ending response (see above).
END_AT_SHUTDOWN = "simgate.end_at_shutdown"
TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-length: 0\r\nconnection: close\r\n\r\n"
)


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with deadlines on each request's head and body.

    Subclasses made by `deadline_protocol` set the two timeouts. The body
    deadline also runs while uvicorn pauses reading because the app has not
    taken the body yet; simgate's endpoints read theirs at once.
    """

    head_timeout: ClassVar[float]
    body_timeout: ClassVar[float]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._head_bytes: int | None = None  # bytes seen while a head is awaited, else None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def data_received(self, data: bytes) -> None:
        # Counted per read: on a kept-alive connection the read in which the
        # next request starts is not counted, so the limit holds within one read.
        if self._head_bytes is not None:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._head_bytes is not None and self._head_bytes > MAX_HEAD_BYTES:
            self._disarm()
            if not self.transport.is_closing():
                self.transport.write(TOO_LARGE)
                self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # The first byte of a request on a kept-alive connection starts its head's
        # clock; on a new connection the clock started when it opened.
        if self._deadline is None:
            self._await_head()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        if not (self.parser.should_upgrade() and self._should_upgrade()):
            self._arm(self.body_timeout, "request body")

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()  # the socket now belongs to the WebSocket protocol
        super().handle_websocket_upgrade()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        cycle = self.cycle
        super().shutdown()
        if cycle is not None and not cycle.response_complete:
            end = cycle.scope.get(END_AT_SHUTDOWN)
            if callable(end):
                end()

    def _await_head(self) -> None:
        self._arm(self.head_timeout, "request head")
        self._head_bytes = 0

    def _arm(self, seconds: float, what: str) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired, seconds, what)

    def _disarm(self) -> None:
        self._head_bytes = None
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, seconds: float, what: str) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        # Debug: a flood of these is what the deadline is for, not news each time.
        log.debug("closing a connection: no complete %s within %g s", what, seconds)
        self.transport.close()


def deadline_protocol(head_timeout: float, body_timeout: float) -> type[DeadlineProtocol]:
    """The protocol class for uvicorn's `http=`, with these deadlines."""
    return type(
        "DeadlineProtocol",
        (DeadlineProtocol,),
        {"head_timeout": head_timeout, "body_timeout": body_timeout},
    )


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The arguments of `uvicorn.run` / `uvicorn.Config` that `settings` decide."""
    return {
        "host": settings.host,
        "port": settings.port,
        "lifespan": "on",
        "http": deadline_protocol(settings.header_timeout_seconds, settings.body_timeout_seconds),
        # X-Forwarded-For/-Proto are believed only from the proxies the operator
        # names: uvicorn's default believes any process on 127.0.0.1.
        "proxy_headers": bool(settings.forwarded_allow_ips),
        "forwarded_allow_ips": settings.forwarded_allow_ips or None,
    }


class GracefulServer(uvicorn.Server):
    """uvicorn's server with simgate's stop: drained first, bounded in time
    (the module's docstring)."""

    def __init__(self, config: uvicorn.Config, runtime: Runtime) -> None:
        super().__init__(config)
        self.runtime = runtime
        self.bound = runtime.settings.shutdown_timeout_seconds

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.should_exit:
            log.info("stopping within %g s (shutdown_timeout_seconds)", self.bound)
            self.runtime.shutdown_deadline = time.monotonic() + self.bound
            # The bound holds whatever hangs (a store that stopped answering):
            # a daemon thread, since the event loop may be the thing stuck.
            threading.Thread(target=self._cut_off, name="shutdown-bound", daemon=True).start()
        super().handle_exit(sig, frame)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # New connections go to the next node (or wait for this one's successor).
        for server in self.servers:
            server.close()
        await self.runtime.drain()
        # What uvicorn then waits for (requests under way, the phones' sockets
        # closing) leaves the workers the time the webhook requests under way need.
        left = self.runtime.time_left()
        if left is not None:
            webhooks = min(self.runtime.settings.webhook_timeout_seconds + 1, self.bound / 2)
            # uvicorn's annotation says int; asyncio.wait_for takes a float.
            self.config.timeout_graceful_shutdown = max(0.5, left - webhooks)  # type: ignore[assignment]
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            # uvicorn raises the signal again once served, which ends the process
            # by that signal; a stop asked for and done is a clean exit instead.
            self._captured_signals.clear()

    def _cut_off(self) -> None:
        deadline = self.runtime.shutdown_deadline
        assert deadline is not None
        time.sleep(max(0.0, deadline - time.monotonic()))
        log.error("shutdown took over %g s (shutdown_timeout_seconds); exiting now", self.bound)
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(1)


def settle_heap() -> None:
    """Tune the garbage collector for serving, once the app is built.

    Everything made at startup (modules, routes, compiled statements) lives
    as long as the process: frozen, full collections no longer walk it, and
    they were the longest pauses in the tail of single requests. A request
    allocates a few thousand objects and frees them by reference counting, so
    the youngest generation is collected every 10,000 allocations instead
    of 700: fewer pauses for cycles that are rare here.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def raise_open_file_limit() -> None:
    """Raise this process's soft limit on open files to its hard limit, and log it.

    Every connection, kept-alive or WebSocket, holds a file descriptor, and
    the usual soft limit (1024, 256 on macOS) is far below what the system
    allows (the hard limit).
    """
    try:
        import resource
    except ImportError:  # not on Windows
        return

    def shown(value: int) -> str:
        return "unlimited" if value == resource.RLIM_INFINITY else str(value)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard:
        log.info("open files: limit %s", shown(soft))
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as exc:
        log.warning("open files: limit %s, not raised to %s: %s", shown(soft), shown(hard), exc)
        return
    log.info("open files: limit raised from %s to %s", shown(soft), shown(hard))
