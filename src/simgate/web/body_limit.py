"""Caps on request bodies under /app/, counted while they stream.

The dashboard's forms are small and its one upload, the CSV import, has its own
5 MB limit: nothing larger is ever read. A declared Content-Length past the cap
is refused before routing; a body without one (chunked) is cut as soon as the
count passes the cap. Either way the visitor gets the 413 page, and no more
than the cap (plus the server's 64 KB read-ahead) is held or parsed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simgate.web import common


class BodyLimit:
    """ASGI middleware: bodies of paths under `prefix` may carry `cap` bytes, or caps[path]."""

    def __init__(self, app: ASGIApp, prefix: str, cap: int, caps: Mapping[str, int]) -> None:
        self.app = app
        self.prefix = prefix
        self.cap = cap
        self.caps = caps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        cap = self.caps.get(scope["path"], self.cap)
        declared = Headers(scope=scope).get("content-length", "")
        # Digits only (the server checked them); past 18 of them, past any cap.
        if re.fullmatch("[0-9]+", declared) and (len(declared) > 18 or int(declared) > cap):
            response = common.render(
                Request(scope), "error.html", status_code=413, message=common.TOO_LARGE
            )
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:  # raised inside the form parser, answered by the Refused page
                    raise common.Refused(413, common.TOO_LARGE)
            return message

        await self.app(scope, counted, send)
