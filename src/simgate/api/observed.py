"""Every HTTP request as the operator sees it: counted by route template,
method and status for /metrics.

`App` (api/fast.py) runs each request through `observe`, outside FastAPI and
its short way in alike, so that the requests sendsms answers without FastAPI
are counted too, and so are the 500s Starlette sends for an unexpected error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import Counter
from starlette.types import Message, Receive, Scope, Send

from simgate import metrics

# A client may send any method: the others share one label, so that the
# series stay few.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # no route took the request (its path is not a label: unbounded)

_children: dict[tuple[str, str, int], Counter] = {}


def count(route: str, method: str, status: int) -> None:
    key = (route, method, status)
    child = _children.get(key)
    if child is None:
        label = method if method in METHODS else "other"
        child = _children[key] = metrics.http_requests.labels(route, label, str(status))
    child.inc()


async def observe(
    call: Callable[[Scope, Receive, Send], Awaitable[None]],
    scope: Scope,
    receive: Receive,
    send: Send,
    route: str | None = None,
) -> None:
    """Run `call` for an HTTP request and count its answer. `route` names the
    template when the caller already knows it (the short way in); otherwise
    it is the route the router matched."""

    async def send_counting(message: Message) -> None:
        if message["type"] == "http.response.start":
            matched = route
            if matched is None:
                found = scope.get("route")
                matched = getattr(found, "path", None) or UNMATCHED
            count(matched, scope["method"], message["status"])
        await send(message)

    await call(scope, receive, send_counting)
