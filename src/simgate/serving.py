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

A response that never ends by itself (the SMS Gateway app's event stream)
would hold a graceful shutdown for ever: uvicorn waits for every response
to complete before it runs the app's shutdown. Such an endpoint puts a
callable under `END_AT_SHUTDOWN` in its request's scope, and the protocol
calls it when the server starts shutting down.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from simgate.config import Settings

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
