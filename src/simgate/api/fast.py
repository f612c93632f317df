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
the request, as it would have to match the prefix. Both ways are observed
(api/observed.py: a request id, a count by route): the short way here, the
rest around FastAPI's whole middleware stack.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from fastapi import FastAPI
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simgate.api import errors, v1
from simgate.api.observed import observe
from simgate.runtime import Runtime, runtime_of

Handler = Callable[[Request, Runtime], Awaitable[Response]]

# POST paths answered here, and by what.
HANDLERS: dict[str, Handler] = {path: v1.answer_sendsms for path in v1.SENDSMS_PATHS}


class App(FastAPI):
    """FastAPI, with the short way in for POSTs to `HANDLERS`' paths."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            handler = HANDLERS.get(scope["path"])
            if handler is not None:
                scope["app"] = self  # as FastAPI sets it: Request.app, runtime_of
                await _serve(handler, runtime_of(self), scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def build_middleware_stack(self) -> ASGIApp:
        # Outside ServerErrorMiddleware, so that its 500s are observed too.
        stack = super().build_middleware_stack()

        async def observed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                await observe(stack, scope, receive, send)
            else:  # lifespan, WebSockets
                await stack(scope, receive, send)

        return observed


async def _serve(
    handler: Handler, runtime: Runtime, scope: Scope, receive: Receive, send: Send
) -> None:
    await observe(partial(_answer, handler, runtime), scope, receive, send, route=scope["path"])


async def _answer(
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
