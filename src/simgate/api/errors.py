"""What the app answers when a request goes wrong outside an endpoint's own checks.

A client that leaves mid-request (or is closed by the body deadline, see
serving.py) makes reading the body raise ClientDisconnect; nobody is left to
answer, and it is no server error, so it is noted at debug level only.

The router answers a wrong method (405) and an unknown path (404) with
Starlette's `{"detail": ...}`. Under /api/ a client reads
`{"result":"failed","errors":[CODE],"info":...}` whatever went wrong, so these
two answer in that shape too (codes in docs/errors.md). Under /api/v2/ the answer is
v2's `{"success": false, "error", "error_code"}`. Elsewhere the answer is
left as it was: the dashboard has its own error pages and short links at the
root answer their own 404.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from simgate.api.v1 import json_response

log = logging.getLogger(__name__)
API_PREFIX = "/api/"
V2_PREFIX = "/api/v2/"


def install(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _answer)
    app.add_exception_handler(ClientDisconnect, client_gone)


async def client_gone(request: Request, exc: Exception) -> Response:
    log.debug("client left before its request was read: %s %s", request.method, request.url.path)
    return Response(status_code=400)  # never sent: the connection is closed


async def _answer(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    path: str = request.scope["path"]
    if not path.startswith(API_PREFIX) or exc.status_code not in (404, 405):
        return await http_exception_handler(request, exc)
    if path.startswith(V2_PREFIX):  # v2 answers in its own envelope
        message = f"{request.method} is not allowed; v2 takes POST with a JSON body"
        response = json_response(
            {"success": False, "error": message, "error_code": "METHOD_NOT_ALLOWED"},
            exc.status_code,
        )
        if exc.status_code == 405:
            response.headers["Allow"] = (exc.headers or {}).get("Allow", "POST")
        return response
    if exc.status_code == 405:
        allow = (exc.headers or {}).get("Allow", "")
        code, info = "#105", f"{request.method} is not allowed on {path} (allowed: {allow})"
        headers = {"Allow": allow}
    else:
        code, info = "#106", f"no endpoint {path}; the endpoints are listed in docs/api.md"
        headers = {}
    response = json_response({"result": "failed", "errors": [code], "info": info}, exc.status_code)
    response.headers.update(headers)
    return response
