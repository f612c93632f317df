"""The inSIM v1 endpoints, wire-compatible with the reference.

Whole-request errors answer `{"result":"failed","errors":[CODE],"info":...}`
with a 4xx status and store nothing (codes in docs/errors.md):

    #100 body is not JSON          #103 body over the size limit
    #101 wrong shape               #104 more items than the limit
    #102 unknown login or wrong key (answered alike)
    #105 wrong method and #106 no such endpoint are answered by api/errors.py
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from simgate.api import openapi
from simgate.api.bodies import read_json_body
from simgate.errors import RequestError, TooLarge
from simgate.logs import bind_account
from simgate.runtime import Runtime, RuntimeDep
from simgate.services.accounts import Account, authenticate_request
from simgate.services.calls import click_to_call
from simgate.services.contacts import upsert_with_key
from simgate.services.messages import accept_with_key

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["inSIM v1"])

SERVERS_DOWN = "our servers are down, please retry later"


def json_response(content: Any, status_code: int = 200) -> Response:
    # orjson: answering 10,000 items with the stdlib encoder costs more than storing them.
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json")


def failed(error: RequestError) -> Response:
    return json_response(
        {"result": "failed", "errors": [error.code], "info": error.info}, error.status
    )


async def read_json(request: Request, runtime: Runtime) -> dict[str, Any]:
    data = await read_json_body(request, runtime.settings.max_body_bytes)
    if not isinstance(data, dict) or not isinstance(data.get("header"), dict):
        raise RequestError("#101", 'the body must be a JSON object with a "header" object')
    return data


async def authenticated(runtime: Runtime, header: dict[str, Any]) -> Account:
    return await authenticate_request(runtime.engine, header.get("login"), header.get("accessKey"))


def list_field(runtime: Runtime, data: dict[str, Any], name: str) -> list[Any]:
    items = data.get(name)
    if not isinstance(items, list):
        raise RequestError("#101", f'"{name}" must be a JSON array')
    limit = runtime.settings.max_messages_per_request
    if len(items) > limit:
        raise TooLarge("#104", f"{len(items)} {name}; at most {limit} per request")
    return items


@router.post("/sendsms", openapi_extra=openapi.SENDSMS)
@router.post("/sendsms.php", include_in_schema=False)
async def sendsms(request: Request, runtime: RuntimeDep) -> Response:
    # Served by api/fast.py's short way in (SENDSMS_PATHS); this route is what
    # the OpenAPI document shows, and what a request under a root path takes.
    return await answer_sendsms(request, runtime)


# The paths of `sendsms`, for the short way in (api/fast.py).
SENDSMS_PATHS = ("/api/v1/sendsms", "/api/v1/sendsms.php")


async def answer_sendsms(request: Request, runtime: Runtime) -> Response:
    try:
        data = await read_json(request, runtime)
        items = list_field(runtime, data, "messages")
        header = data["header"]
        # Authentication and storage share one transaction (group-committed on
        # SQLite); its commit wakes the dispatcher (runtime.py).
        account, answers, stored = await accept_with_key(
            runtime.engine,
            header.get("login"),
            header.get("accessKey"),
            items,
            runtime.public_url,
            runtime.clock,
        )
    except RequestError as error:
        return failed(error)
    bind_account(account.id)  # the request's log lines name it
    # Debug, not info: one line per request is the access log's job (--access-log).
    log.debug(
        "sendsms accepted",
        extra={"action": "sendsms", "account_id": account.id, "items": len(items), "new": stored},
    )
    return json_response(answers)


@router.post("/contact", openapi_extra=openapi.CONTACT)
@router.post("/contact.php", include_in_schema=False)
async def contact(request: Request, runtime: RuntimeDep) -> Response:
    try:
        data = await read_json(request, runtime)
        items = list_field(runtime, data, "contacts")
        header = data["header"]
        answers = await upsert_with_key(
            runtime.engine, header.get("login"), header.get("accessKey"), items, runtime.clock
        )
    except RequestError as error:
        return failed(error)
    return json_response({"data": {"contact": answers}})


@router.post("/clicTocall", openapi_extra=openapi.CLICTOCALL)
@router.post("/clictocall", include_in_schema=False)
@router.post("/clic.php", include_in_schema=False)
async def clic_to_call(request: Request, runtime: RuntimeDep) -> Response:
    try:
        data = await read_json(request, runtime)
        header = data["header"]
        if header.get("type") != "clicToCall":
            raise RequestError("#101", 'header.type must be "clicToCall"')
        account = await authenticated(runtime, header)
    except RequestError as error:
        return failed(error)
    try:
        answer = await click_to_call(runtime.dialer, account, header.get("phone_number"))
    except Exception:  # the reference's "#001: our servers are down"
        log.exception("click-to-call failed", extra={"action": "clictocall"})
        answer = [{"info": SERVERS_DOWN, "result": "failed", "errors": ["#001"]}]
    return json_response(answer)
