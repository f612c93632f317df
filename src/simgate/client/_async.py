"""The asyncio client: Client's twin, same calls awaited."""

from __future__ import annotations

import asyncio
import itertools
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
from simgate.client._v2 import AsyncV2
from simgate.client._v2_calls import Request

T = TypeVar("T")


class AsyncClient(BaseClient):
    """Talks to a simgate server or the hosted inSIM service (same v1 API).

        async with simgate.AsyncClient(login, key, base_url="http://127.0.0.1:8000") as client:
            results = await client.send_sms([simgate.Sms("+33612345678", "Hello")])

    `http_client` lets you bring your own configured `httpx.AsyncClient` (proxies,
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
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(login, access_key, base_url, max_retries, retry_backoff)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=timeout, headers={"user-agent": USER_AGENT}
        )
        self.v2 = AsyncV2(self._run_v2)
        """The v2 API, grouped: `await client.v2.contacts.search("dubois")`."""

    async def send_sms(self, messages: SmsLike | Iterable[SmsLike]) -> list[SentSms]:
        """Send SMS (Sms objects or reference-shaped dicts); one result per
        message, in order. Rejected messages come back with `sent=False`."""
        return await self._request(self._sendsms_call(messages))

    async def add_contacts(
        self, contacts: ContactLike | Iterable[ContactLike]
    ) -> list[ContactResult]:
        """Add or update contacts (matched by phone number); one result each."""
        return await self._request(self._contacts_call(contacts))

    async def click_to_call(self, phone_number: str) -> CallResult:
        """Ask one of the account's phones to call `phone_number`."""
        return await self._request(self._call_call(phone_number))

    async def _run_v2(self, request: Request[T]) -> T:
        return await self._request(self._v2_call(request))

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _request(self, call: Call[T]) -> T:
        for attempt in itertools.count():
            try:
                response = await self._http.post(
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
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")
