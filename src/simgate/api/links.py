"""Tracked short links: `GET {public-url}/{code}` → 302 to the message's url."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from simgate.runtime import RuntimeDep
from simgate.services.links import open_link

router = APIRouter(include_in_schema=False)


@router.api_route("/{code:str}", methods=["GET", "HEAD"])
async def follow(code: str, request: Request, runtime: RuntimeDep) -> Response:
    if not (10 <= len(code) <= 16 and code.isalnum() and code.isascii()):
        return PlainTextResponse("Not found\n", status_code=404)
    client = request.client.host if request.client else None
    target = await run_in_threadpool(
        open_link,
        runtime.engine,
        code,
        request.method,
        request.headers.get("user-agent"),
        client,
        runtime.clock,
    )
    if target is None:
        return PlainTextResponse("Not found\n", status_code=404)
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})
