"""The SDK's exception tree (drawn once, as httpx does).

ApiError                    anything the SDK raises for a failed call
├── BadRequest              400: body not JSON (#100) or wrong shape (#101)
├── AuthenticationError     401: unknown login, wrong or revoked key (#102)
├── PayloadTooLarge         413: body too large (#103) or too many items (#104)
├── ServerError             5xx, still failing after the retries
├── UnexpectedResponse      an answer that is not the documented JSON
└── ApiConnectionError      no answer at all after the retries (refused, reset, ...)
    └── ApiTimeoutError     the last attempt timed out

Per-message rejections (`sent: 0`, a contact's `result: "failed"`) are not
exceptions: they stay in the results, next to the accepted items.
"""

from __future__ import annotations


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


class BadRequest(ApiError):
    pass


class AuthenticationError(ApiError):
    pass


class PayloadTooLarge(ApiError):
    pass


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
}


def error_for(status_code: int, code: str | None, info: str) -> ApiError:
    """The exception for a whole-request failure answered by the server."""
    if status_code >= 500:
        cls: type[ApiError] = ServerError
    else:
        cls = _BY_CODE.get(code or "") or _BY_STATUS.get(status_code, ApiError)
    return cls(info, code=code, status_code=status_code)
