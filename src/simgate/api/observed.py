"""Every HTTP request as the operator sees it: a request id, and a count by
route template, method and status for /metrics.

`App` (api/fast.py) runs each request through `observe`, outside FastAPI and
its short way in alike, so that the requests sendsms answers without FastAPI
get both too, and so do the 500s Starlette sends for an unexpected error.

The request id is the client's `X-Request-ID` when it is one (printable
ASCII, no spaces, at most `MAX_REQUEST_ID` characters; a proxy's, say), else
a new one; the answer carries it back in `X-Request-ID`, and every log line
written while serving the request names it (simgate.logs).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Awaitable, Callable

from starlette.types import Message, Receive, Scope, Send

from simgate import logs, metrics

# A client may send any method: the others share one label, so that the
# series stay few.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # no route took the request (its path is not a label: unbounded)
MAX_REQUEST_ID = 128
HEADER = b"x-request-id"
_VALID_ID = re.compile(rb"[\x21-\x7e]{1,%d}" % MAX_REQUEST_ID)

# Made ids: this process's random prefix and a sequence number, unique
# without a system call per request (os.urandom cost as much as the rest).
_PREFIX = os.urandom(4).hex()
_sequence = itertools.count(1)


def count(route: str, method: str, status: int) -> None:
    """One more answer (on the event loop: metrics.http_requests)."""
    key = (route, method if method in METHODS else "other", status)
    counts = metrics.http_requests
    counts[key] = counts.get(key, 0) + 1


def request_id_of(scope: Scope) -> bytes:
    """The client's X-Request-ID if it is a valid one, else a new id."""
    for name, value in scope["headers"]:
        if name == HEADER:
            if _VALID_ID.fullmatch(value):
                return bytes(value)
            break
    return f"{_PREFIX}{next(_sequence):08x}".encode()


async def observe(
    call: Callable[[Scope, Receive, Send], Awaitable[None]],
    scope: Scope,
    receive: Receive,
    send: Send,
    route: str | None = None,
) -> None:
    """Run `call` for an HTTP request with its request id, and count its
    answer. `route` names the template when the caller already knows it (the
    short way in); otherwise it is the route the router matched."""
    rid = request_id_of(scope)
    logs.request_id.set(rid.decode())

    async def send_observed(message: Message) -> None:
        if message["type"] == "http.response.start":
            matched = route
            if matched is None:
                found = scope.get("route")
                matched = getattr(found, "path", None) or UNMATCHED
            count(matched, scope["method"], message["status"])
            message["headers"] = [*message.get("headers", ()), (HEADER, rid)]
        await send(message)

    await call(scope, receive, send_observed)
