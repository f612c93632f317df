"""The inSIM v1 endpoints, wire-compatible with the reference.

Whole-request errors answer `{"result":"failed","errors":[CODE],"info":...}`
with a 4xx status and store nothing (codes in docs/errors.md):

    #100 body is not JSON          #103 body over the size limit
    #101 wrong shape               #104 more messages than the limit
    #102 unknown login or wrong key (answered alike)
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from simgate.api import openapi
from simgate.errors import RequestError, TooLarge
from simgate.services.accounts import Account, authenticate
from simgate.services.calls import click_to_call
from simgate.services.contacts import upsert_contacts
from simgate.services.messages import accept_messages

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["inSIM v1"])


def failed(error: RequestError) -> JSONResponse:
    return JSONResponse(
        {"result": "failed", "errors": [error.code], "info": error.info}, status_code=error.status
    )


async def read_json(request: Request) -> dict[str, Any]:
    limit: int = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge("#103", f"the body is over the limit of {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge("#103", f"the body is over the limit of {limit} bytes")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RequestError("#100", "the body is not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("header"), dict):
        raise RequestError("#101", 'the body must be a JSON object with a "header" object')
    return data


async def authenticated(request: Request, header: dict[str, Any]) -> Account:
    engine = request.app.state.engine

    def check() -> Account:
        with engine.connect() as conn:
            return authenticate(conn, header.get("login"), header.get("accessKey"))

    return await run_in_threadpool(check)


def list_field(data: dict[str, Any], name: str) -> list[Any]:
    items = data.get(name)
    if not isinstance(items, list):
        raise RequestError("#101", f'"{name}" must be a JSON array')
    return items


@router.post("/sendsms", openapi_extra=openapi.SENDSMS)
@router.post("/sendsms.php", include_in_schema=False)
async def sendsms(request: Request) -> JSONResponse:
    try:
        data = await read_json(request)
        items = list_field(data, "messages")
        limit = request.app.state.settings.max_messages_per_request
        if len(items) > limit:
            raise TooLarge("#104", f"{len(items)} messages; at most {limit} per request")
        account = await authenticated(request, data["header"])
    except RequestError as error:
        return failed(error)
    state = request.app.state
    answers, stored = await run_in_threadpool(
        accept_messages, state.engine, account, items, state.public_url
    )
    log.info(
        "sendsms accepted",
        extra={"action": "sendsms", "account_id": account.id, "items": len(items), "new": stored},
    )
    if stored:
        state.wake_dispatcher()
    return JSONResponse(answers)


@router.post("/contact", openapi_extra=openapi.CONTACT)
@router.post("/contact.php", include_in_schema=False)
async def contact(request: Request) -> JSONResponse:
    try:
        data = await read_json(request)
        items = list_field(data, "contacts")
        limit = request.app.state.settings.max_messages_per_request
        if len(items) > limit:
            raise TooLarge("#104", f"{len(items)} contacts; at most {limit} per request")
        account = await authenticated(request, data["header"])
    except RequestError as error:
        return failed(error)
    answers = await run_in_threadpool(upsert_contacts, request.app.state.engine, account, items)
    return JSONResponse({"data": {"contact": answers}})


@router.post("/clicTocall", openapi_extra=openapi.CLICTOCALL)
@router.post("/clictocall", include_in_schema=False)
@router.post("/clic.php", include_in_schema=False)
async def clic_to_call(request: Request) -> JSONResponse:
    try:
        data = await read_json(request)
        header = data["header"]
        if header.get("type") != "clicToCall":
            raise RequestError("#101", 'header.type must be "clicToCall"')
        account = await authenticated(request, header)
    except RequestError as error:
        return failed(error)
    answer = await click_to_call(request.app.state.dialer, account, header.get("phone_number"))
    return JSONResponse(answer)
