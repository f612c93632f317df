"""The blocking client."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable
from types import TracebackType
from typing import TypeVar

import httpx

from simgate.client._base import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    USER_AGENT,
    BaseClient,
    Call,
    ContactLike,
    SmsLike,
    read_answer,
)
from simgate.client._models import CallResult, ContactResult, SentSms
from simgate.client._v2 import V2
from simgate.client._v2_calls import Request

T = TypeVar("T")


class Client(BaseClient):
    """Talks to a simgate server or the hosted inSIM service (same v1 API).

        with simgate.Client(login, key, base_url="http://127.0.0.1:8000") as client:
            results = client.send_sms([simgate.Sms("+33612345678", "Hello")])

    `http_client` lets you bring your own configured `httpx.Client` (proxies,
    certificates); the SDK then leaves closing it to you.
    """

    def __init__(
        self,
        login: str,
        access_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_backoff: float = 0.5,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(login, access_key, base_url, max_retries, retry_backoff)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            timeout=timeout, headers={"user-agent": USER_AGENT}
        )
        self.v2 = V2(self._run_v2)
        """The v2 API, grouped: `client.v2.contacts.search("dubois")` (docs/sdk.md)."""

    def send_sms(self, messages: SmsLike | Iterable[SmsLike]) -> list[SentSms]:
        """Send SMS (Sms objects or reference-shaped dicts); one result per
        message, in order. Rejected messages come back with `sent=False`."""
        return self._request(self._sendsms_call(messages))

    def add_contacts(self, contacts: ContactLike | Iterable[ContactLike]) -> list[ContactResult]:
        """Add or update contacts (matched by phone number); one result each."""
        return self._request(self._contacts_call(contacts))

    def click_to_call(self, phone_number: str) -> CallResult:
        """Ask one of the account's phones to call `phone_number`."""
        return self._request(self._call_call(phone_number))

    def _run_v2(self, request: Request[T]) -> T:
        return self._request(self._v2_call(request))

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _request(self, call: Call[T]) -> T:
        for attempt in itertools.count():
            try:
                response = self._http.post(
                    self._url(call), content=call.body, headers={"content-type": "application/json"}
                )
            except httpx.HTTPError as error:
                delay = self._next_delay(call, attempt, error=error)
                if delay is None:
                    raise self._transport_error(error) from error
            else:
                delay = self._next_delay(call, attempt, response=response)
                if delay is None:
                    return read_answer(call, response)
            time.sleep(delay)
        raise AssertionError("unreachable")
