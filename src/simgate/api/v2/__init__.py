"""The inSIM v2 API: `POST /api/v2/<endpoint>`, one JSON object each way.

The contract is reference/insim-v2-api.md; DESIGN section 9 settles what it
leaves open and docs/api-v2.md documents the answers. The endpoints live in
one module per area and register themselves (envelope.endpoint).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.requests import ClientDisconnect

from simgate.api.bodies import read_json_body
from simgate.api.v2 import (  # noqa: F401 - each module registers its endpoints
    account,
    calls,
    campaigns,
    contacts,
    lists,
    optouts,
    sms,
    stats,
    templates,
)
from simgate.api.v2.envelope import ENDPOINTS, Call, Params
from simgate.errors import (
    AuthError,
    Conflict,
    Invalid,
    Missing,
    NotFound,
    RateLimited,
    Refused,
    RequestError,
    TooLarge,
)
from simgate.runtime import Runtime, RuntimeDep
from simgate.services.accounts import authenticate_request

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v2", tags=["inSIM v2"])


def answer(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def error(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"success": False, "error": message, "error_code": code}
    if field:
        body["field"] = field
    return answer(body, status, headers)


@router.post("/{name:path}", include_in_schema=False)
async def dispatch(name: str, request: Request, runtime: RuntimeDep) -> Response:
    handler = ENDPOINTS.get(name.strip("/"))
    if handler is None:
        return error(404, "NOT_FOUND", f"no endpoint /api/v2/{name}; see docs/api-v2.md")
    try:
        data = await _read_body(request, runtime)
        account = await authenticate_request(
            runtime.engine, data.pop("login", None), data.pop("accessKey", None)
        )
        wait = runtime.v2_limiter.wait_for(account.id, time.monotonic())
        if wait:
            raise RateLimited(wait)
        call = Call(runtime, account, Params(data, account.region, account.tz))
        body = await handler(call)
    except AuthError:
        return error(401, "INVALID_CREDENTIALS", AuthError().info)
    except TooLarge as exc:
        return error(413, "PAYLOAD_TOO_LARGE", exc.info)
    except RequestError as exc:
        return error(400, "INVALID_JSON", exc.info)
    except Missing as exc:
        return error(422, "MISSING_FIELD", str(exc), exc.field)
    except Refused as exc:
        return error(422, exc.error_code, str(exc), exc.field)
    except Invalid as exc:
        return error(422, "VALIDATION_ERROR", str(exc), exc.field)
    except NotFound as exc:
        return error(404, "NOT_FOUND", str(exc), exc.field)
    except Conflict as exc:
        return error(409, "INVALID_STATE", str(exc), exc.field)
    except RateLimited as exc:
        retry = str(max(1, round(exc.retry_after)))
        return error(429, "RATE_LIMIT_EXCEEDED", str(exc), headers={"Retry-After": retry})
    except ClientDisconnect:
        raise  # nobody to answer (api/errors.py)
    except Exception:  # a bug or an outage: still the envelope clients parse
        log.exception("v2 %s failed", name)
        return error(500, "INTERNAL_ERROR", "the server failed to answer; it has been logged")
    return answer({"success": True, **body})


async def _read_body(request: Request, runtime: Runtime) -> dict[str, Any]:
    data = await read_json_body(request, runtime.settings.max_body_bytes)
    if not isinstance(data, dict):
        raise RequestError("#101", "the body must be a JSON object")
    return data
