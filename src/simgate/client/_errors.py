"""The SDK's exception tree (drawn once, as httpx does).

ApiError                    anything the SDK raises for a failed call
├── BadRequest              400: body not JSON (#100, v2 INVALID_JSON) or wrong shape (#101)
├── AuthenticationError     401: unknown login, wrong or revoked key (#102, INVALID_CREDENTIALS)
├── NotFound                404 (v2): no such id for this account (NOT_FOUND)
├── InvalidRequest          422 (v2): a field is wrong (VALIDATION_ERROR)
│   └── MissingField        422 (v2): a required field is absent (MISSING_FIELD)
├── InvalidState            409 (v2): not allowed in the object's state (INVALID_STATE)
├── RateLimited             429 (v2): too many requests (RATE_LIMIT_EXCEEDED); .retry_after
├── LicenseRequired         (v2, the hosted service): a premium feature (LICENSE_REQUIRED)
├── PayloadTooLarge         413: body too large (#103, PAYLOAD_TOO_LARGE) or too many items (#104)
├── ServerError             5xx, still failing after the retries
├── UnexpectedResponse      an answer that is not the documented JSON
└── ApiConnectionError      no answer at all after the retries (refused, reset, ...)
    └── ApiTimeoutError     the last attempt timed out

v1 errors carry `code` ("#102") and `info`; v2 errors carry the same under
their v2 names too: `error_code` ("NOT_FOUND"), `error` (the message) and
`field` (the request field at fault, or None). Per-message rejections (`sent:
0`, a contact's `result: "failed"`) are not exceptions: they stay in the
results, next to the accepted items.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ApiError(Exception):
    """A call failed as a whole. `code` is the server's error code ("#102"),
    `info` its explanation, `status_code` the HTTP status; any may be None."""

    def __init__(
        self, info: str, *, code: str | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(f"{code}: {info}" if code else info)
        self.info = info
        self.code = code
        self.status_code = status_code
        self.field: str | None = None  # v2: the request field at fault

    @property
    def error_code(self) -> str | None:
        """The v2 name of `code` ("NOT_FOUND")."""
        return self.code

    @property
    def error(self) -> str:
        """The v2 name of `info` (the server's human message)."""
        return self.info


class BadRequest(ApiError):
    pass


class AuthenticationError(ApiError):
    pass


class PayloadTooLarge(ApiError):
    pass


class NotFound(ApiError):
    pass


class InvalidRequest(ApiError):
    pass


class MissingField(InvalidRequest):
    pass


class InvalidState(ApiError):
    pass


class RateLimited(ApiError):
    """`retry_after`: seconds the server asked to wait (Retry-After), or None."""

    retry_after: float | None = None


class LicenseRequired(ApiError):
    """The hosted service's premium wall; simgate never answers it."""

    subscription_type: str = ""
    upgrade_url: str = ""
    feature: str = ""


class ServerError(ApiError):
    pass


class UnexpectedResponse(ApiError):
    pass


class ApiConnectionError(ApiError):
    pass


class ApiTimeoutError(ApiConnectionError):
    pass


_BY_CODE: dict[str, type[ApiError]] = {
    "#100": BadRequest,
    "#101": BadRequest,
    "#102": AuthenticationError,
    "#103": PayloadTooLarge,
    "#104": PayloadTooLarge,
}
_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: AuthenticationError,
    403: AuthenticationError,
    413: PayloadTooLarge,
}  # v1; v2 adds the codes below (its statuses say the same)


def error_for(status_code: int, code: str | None, info: str) -> ApiError:
    """The exception for a whole-request failure answered by the server."""
    if status_code >= 500:
        cls: type[ApiError] = ServerError
    else:
        cls = _BY_CODE.get(code or "") or _BY_STATUS.get(status_code, ApiError)
    return cls(info, code=code, status_code=status_code)


_BY_V2_CODE: dict[str, type[ApiError]] = {
    "INVALID_JSON": BadRequest,
    "INVALID_CREDENTIALS": AuthenticationError,
    "NOT_FOUND": NotFound,
    "VALIDATION_ERROR": InvalidRequest,
    "MISSING_FIELD": MissingField,
    "INVALID_STATE": InvalidState,
    "RATE_LIMIT_EXCEEDED": RateLimited,
    "LICENSE_REQUIRED": LicenseRequired,
    "PAYLOAD_TOO_LARGE": PayloadTooLarge,
}

_BY_V2_STATUS: dict[int, type[ApiError]] = {
    **_BY_STATUS,
    404: NotFound,
    409: InvalidState,
    422: InvalidRequest,
    429: RateLimited,
}


def v2_error_for(
    status_code: int, body: Mapping[str, Any], retry_after: str | None = None
) -> ApiError:
    """The exception for a v2 error body (`success` false), whatever its status:
    the client decides on `success` alone, and so does the SDK."""
    code = _text_or_none(body.get("error_code"))
    message = _text_or_none(body.get("error")) or f"HTTP {status_code}"
    cls = _BY_V2_CODE.get(code or "")
    if cls is None:
        cls = ServerError if status_code >= 500 else _BY_V2_STATUS.get(status_code, ApiError)
    error = cls(message, code=code, status_code=status_code)
    error.field = _text_or_none(body.get("field"))
    if isinstance(error, RateLimited) and retry_after and retry_after.strip().isdigit():
        error.retry_after = float(retry_after)
    if isinstance(error, LicenseRequired):
        error.subscription_type = _text_or_none(body.get("subscription_type")) or ""
        error.upgrade_url = _text_or_none(body.get("upgrade_url")) or ""
        error.feature = _text_or_none(body.get("feature")) or ""
    return error


def _text_or_none(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)
