"""What Client and AsyncClient share: building each call's request and reading
its answer. The two clients add only the I/O (send, sleep)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import httpx

from simgate.client._errors import (
    ApiConnectionError,
    ApiError,
    ApiTimeoutError,
    UnexpectedResponse,
    error_for,
    v2_error_for,
)
from simgate.client._models import (
    CallResult,
    Contact,
    ContactResult,
    SentSms,
    Sms,
    format_send_date,
    new_id_sms_api,
)
from simgate.client._retry import RetryPolicy
from simgate.client._v2_calls import Request
from simgate.client._version import __version__

DEFAULT_BASE_URL = "https://www.insim.app"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3
USER_AGENT = f"simgate-python/{__version__}"

T = TypeVar("T")
SmsLike = Sms | Mapping[str, Any]
ContactLike = Contact | Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One API call, ready to send (and to send again, byte for byte)."""

    path: str
    body: bytes
    idempotent: bool
    parse: Callable[[Any], T]
    v2: bool = False  # read as a v2 answer: `success` decides, whatever the status


class BaseClient:
    def __init__(
        self,
        login: str,
        access_key: str,
        base_url: str,
        max_retries: int,
        retry_backoff: float,
    ) -> None:
        if not login or not access_key:
            raise ValueError("login and access_key are required")
        self.login = login
        self._access_key = access_key
        self.base_url = base_url.rstrip("/")
        self.retry_policy = RetryPolicy(max_retries=max_retries, backoff=retry_backoff)

    def __repr__(self) -> str:  # never shows the key
        return f"{type(self).__name__}(login={self.login!r}, base_url={self.base_url!r})"

    # --- building calls ---------------------------------------------------

    def _body(self, header: Mapping[str, Any], **rest: Any) -> bytes:
        data = {"header": {"login": self.login, "accessKey": self._access_key, **header}, **rest}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()

    def _sendsms_call(self, messages: SmsLike | Iterable[SmsLike]) -> Call[list[SentSms]]:
        items = [_sms_item(m) for m in _as_list(messages, (Sms, Mapping))]

        def parse(data: Any) -> list[SentSms]:
            _raise_if_failed(data)
            answers = _list_of_objects(data, "sendsms")
            if len(answers) != len(items):
                raise UnexpectedResponse(
                    f"sendsms answered {len(answers)} items for {len(items)} messages"
                )
            return [SentSms.from_wire(a) for a in answers]

        return Call("/api/v1/sendsms", self._body({}, messages=items), True, parse)

    def _contacts_call(
        self, contacts: ContactLike | Iterable[ContactLike]
    ) -> Call[list[ContactResult]]:
        items = [
            c.to_wire() if isinstance(c, Contact) else dict(c)
            for c in _as_list(contacts, (Contact, Mapping))
        ]

        def parse(data: Any) -> list[ContactResult]:
            _raise_if_failed(data)
            inner = data.get("data") if isinstance(data, dict) else None
            answers = _list_of_objects(
                inner.get("contact") if isinstance(inner, dict) else None, "contact"
            )
            return [ContactResult.from_wire(a) for a in answers]

        return Call("/api/v1/contact", self._body({}, contacts=items), True, parse)

    def _call_call(self, phone_number: str) -> Call[CallResult]:
        def parse(data: Any) -> CallResult:
            item = data[0] if isinstance(data, list) and data else data
            if not isinstance(item, dict):
                raise UnexpectedResponse("clicTocall did not answer a JSON object")
            return CallResult.from_wire(item)

        header = {"type": "clicToCall", "phone_number": phone_number}
        return Call("/api/v1/clicTocall", self._body(header), False, parse)

    def _v2_call(self, request: Request[T]) -> Call[T]:
        """A v2 request as a call: flat body, the credentials beside the fields."""
        data = {"login": self.login, "accessKey": self._access_key, **request.fields}
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        return Call(f"/api/v2/{request.endpoint}", body, request.idempotent, request.read, v2=True)

    # --- reading answers ----------------------------------------------------

    def _url(self, call: Call[Any]) -> str:
        return self.base_url + call.path

    def _next_delay(
        self,
        call: Call[Any],
        attempt: int,
        response: httpx.Response | None = None,
        error: Exception | None = None,
    ) -> float | None:
        """Seconds to wait before trying `call` again, or None to stop here."""
        policy = self.retry_policy
        if error is not None:
            ok = policy.retry_error(error, attempt, call.idempotent)
            return policy.delay(attempt) if ok else None
        assert response is not None
        if policy.retry_status(response.status_code, attempt, call.idempotent):
            return policy.delay(attempt, response.headers.get("retry-after"))
        return None

    def _transport_error(self, error: httpx.HTTPError) -> ApiError:
        cls = ApiTimeoutError if isinstance(error, httpx.TimeoutException) else ApiConnectionError
        return cls(f"no answer from {self.base_url}: {type(error).__name__}: {error}")


def read_answer(call: Call[T], response: httpx.Response) -> T:
    """The parsed result, or the ApiError the answer stands for."""
    status = response.status_code
    try:
        data = response.json()
    except ValueError:
        if status >= 400:
            raise error_for(status, None, f"HTTP {status} {response.reason_phrase}") from None
        raise UnexpectedResponse(
            f"HTTP {status}: the answer is not JSON", status_code=status
        ) from None
    if call.v2:
        return _v2_answer(call, response, data)
    if status >= 400:
        raise _whole_failure(status, data)
    try:
        return call.parse(data)
    except UnexpectedResponse as exc:
        exc.status_code = status
        raise


def _v2_answer(call: Call[T], response: httpx.Response, data: Any) -> T:
    """A v2 answer succeeded when its `success` is true, as the official client
    decides (the status only picks the error class when it failed)."""
    status = response.status_code
    if not isinstance(data, dict):
        message = f"HTTP {status}: the answer is not a JSON object"
        raise UnexpectedResponse(message, status_code=status)
    if not data.get("success"):
        raise v2_error_for(status, data, response.headers.get("retry-after"))
    try:
        return call.parse(data)
    except UnexpectedResponse as exc:
        exc.status_code = status
        raise


def _whole_failure(status: int, data: Any) -> ApiError:
    errors = data.get("errors") if isinstance(data, dict) else None
    code = str(errors[0]) if isinstance(errors, list) and errors else None
    info = data.get("info") if isinstance(data, dict) else None
    return error_for(status, code, str(info) if info else f"HTTP {status}")


def _raise_if_failed(data: Any) -> None:
    """simgate answers whole-request failures with a 4xx; accept the same
    object on a 2xx too, as a deployment of the reference API might send it."""
    if isinstance(data, dict) and data.get("result") == "failed":
        raise _whole_failure(200, data)


def _as_list(value: Any, single: tuple[type, ...]) -> list[Any]:
    if isinstance(value, single):
        return [value]
    items = list(value)
    for item in items:
        if not isinstance(item, single):
            raise TypeError(f"expected {' or '.join(t.__name__ for t in single)}, got {item!r}")
    return items


def _sms_item(message: SmsLike) -> dict[str, Any]:
    """The wire item, with an id_sms_api so that a retry never sends it twice."""
    item = message.to_wire() if isinstance(message, Sms) else dict(message)
    if item.get("id_sms_api") in (None, ""):
        item["id_sms_api"] = new_id_sms_api()
    if isinstance(item.get("date_to_send"), datetime):
        item["date_to_send"] = format_send_date(item["date_to_send"])
    return item


def _list_of_objects(data: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
        raise UnexpectedResponse(f"{what} did not answer a list of JSON objects")
    return data
