"""The server's exception tree. HTTP mapping lives only in `api/`.

SimgateError
├── RequestError          a whole request is wrong; carries code + info
│   ├── AuthError         unknown login, wrong or revoked key (answered alike)
│   └── TooLarge          body or message count over the limit
├── NotFound              a lookup found nothing (`field`: the id asked for)
├── Invalid               an outside value is wrong; `field` names it
│   └── Missing           a required value is absent
├── Conflict              the object is not in a state that allows it
└── RateLimited           an account asked too often

Services raise these; api/ maps them to each wire's codes (v1 `#1xx`, v2
`error_code`).
"""

from __future__ import annotations


class SimgateError(Exception):
    pass


class RequestError(SimgateError):
    status = 400

    def __init__(self, code: str, info: str) -> None:
        super().__init__(info)
        self.code = code
        self.info = info


class AuthError(RequestError):
    status = 401

    def __init__(self) -> None:
        super().__init__("#102", "login or accessKey is wrong, or the key was revoked")


class TooLarge(RequestError):
    status = 413


class NotFound(SimgateError):
    def __init__(self, message: str = "not found", field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Invalid(SimgateError):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field


class Refused(Invalid):
    """Invalid with its own v2 `error_code` (e.g. RECIPIENT_OPTED_OUT)."""

    def __init__(self, field: str | None, message: str, error_code: str) -> None:
        super().__init__(field, message)
        self.error_code = error_code


class Missing(Invalid):
    def __init__(self, field: str, message: str | None = None) -> None:
        super().__init__(field, message or f"{field} is required")


class Conflict(SimgateError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RateLimited(SimgateError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many requests; retry in {retry_after:.0f} s")
        self.retry_after = retry_after
