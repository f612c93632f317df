"""The server's exception tree. HTTP mapping lives only in `api/`.

SimgateError
├── RequestError          a whole request is wrong; carries code + info
│   ├── AuthError         unknown login, wrong or revoked key (answered alike)
│   └── TooLarge          body or message count over the limit
└── NotFound              a CLI/dashboard lookup found nothing
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
    pass
