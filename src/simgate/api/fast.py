"""A short way in for the hottest endpoint: POST /api/v1/sendsms.

Through FastAPI a one-message sendsms passed six middlewares, the router's
walk over some 220 routes, the dependency solver and two exit stacks before
reaching its own code: about 0.2 ms of CPU on the event loop per request,
as much as the bare uvicorn + FastAPI stack spends on a whole request
(bench/accept.py). `App` (the app create_app builds) hands a POST to one of
these exact paths straight to its handler, and everything else to FastAPI.

A request through here is answered as through the route: the same handler
(api/v1.answer_sendsms), the same answer for a client that leaves mid-body
(api/errors.client_gone), and for an unexpected error the 500 that
Starlette's ServerErrorMiddleware sends, with the error raised on to the
server, which logs it. Under a root path (a proxy's prefix) the route takes
the request, as it would have to match the prefix.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Message, Receive, Scope, Send

from simgate.api import errors, v1
from simgate.api.observed import observe
from simgate.runtime import Runtime, runtime_of

Handler = Callable[[Request, Runtime], Awaitable[Response]]

# POST paths answered here, and by what.
HANDLERS: dict[str, Handler] = {path: v1.answer_sendsms for path in v1.SENDSMS_PATHS}


class App(FastAPI):
    """FastAPI, with the short way in for POSTs to `HANDLERS`' paths."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan, WebSockets
            await super().__call__(scope, receive, send)
            return
        if scope["method"] == "POST" and not scope.get("root_path"):
            path = scope["path"]
            handler = HANDLERS.get(path)
            if handler is not None:
                scope["app"] = self  # as FastAPI sets it: Request.app, runtime_of
                runtime = runtime_of(self)

                async def short_way(scope: Scope, receive: Receive, send: Send) -> None:
                    await _serve(handler, runtime, scope, receive, send)

                await observe(short_way, scope, receive, send, route=path)
                return
        await observe(super().__call__, scope, receive, send)


async def _serve(
    handler: Handler, runtime: Runtime, scope: Scope, receive: Receive, send: Send
) -> None:
    started = False

    async def send_noting_start(message: Message) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    request = Request(scope, receive)
    try:
        try:
            response = await handler(request, runtime)
        except ClientDisconnect as exc:
            response = await errors.client_gone(request, exc)
        await response(scope, receive, send_noting_start)
    except Exception:
        # What ServerErrorMiddleware does outside debug mode.
        if not started:
            await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
        raise
