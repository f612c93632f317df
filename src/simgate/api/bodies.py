"""Reading a request body as JSON, within the size limit (v1 and v2 alike)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from simgate.errors import RequestError, TooLarge


async def read_json_body(request: Request, limit: int) -> Any:
    """The parsed body; TooLarge (#103) over `limit` bytes, RequestError (#100)
    when it is not JSON."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge("#103", f"the body is over the limit of {limit} bytes")
    # Read chunk by chunk so that a chunked body without a length stops at the limit too.
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge("#103", f"the body is over the limit of {limit} bytes")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RequestError("#100", "the body is not valid JSON (UTF-8)") from None
