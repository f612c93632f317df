"""Safe retries against the real server: a dropped or timed-out sendsms is sent
again and stored once; a closed port gives up after the bounded retries."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import simgate
from tests.sdk.support import (
    AsyncCountingTransport,
    CountingTransport,
    FlakyProxy,
    count_messages,
    stored_ids,
)
from tests.support.servers import LiveServer, free_port

FAST = {"retry_backoff": 0.01}


def batch() -> list[Any]:
    # One object, one dict without an id: the client gives both an id_sms_api.
    return [
        simgate.Sms("+33612345678", "Retry me %&+ é 🚀", url="https://example.com/"),
        {"phone_number": "+33698765432", "message": "and me"},
    ]


@pytest.mark.parametrize("mode", ["drop", "delay"])
def test_lost_answer_is_retried_without_a_duplicate(
    mode: str, server: LiveServer, account: dict[str, Any]
) -> None:
    # The timeout bounds the retry's whole round trip through the proxy, which
    # took longer than 0.3 s on a loaded machine; the held answer outlasts it.
    with FlakyProxy(server.url, mode, delay=2.5) as proxy:  # type: ignore[arg-type]
        with simgate.Client(
            account["login"], account["accessKey"], base_url=proxy.url, timeout=1.0, **FAST
        ) as client:
            results = client.send_sms(batch())
    assert proxy.forwarded == 2  # the server saw the request twice...
    assert [r.sent for r in results] == [True, True]
    # ...and stored each message once, under the ids the client chose.
    assert stored_ids(server.engine, account["id"]) == sorted(r.id_sms_api for r in results)
    assert count_messages(server.engine, account["id"]) == 2


async def test_async_lost_answer_is_retried_without_a_duplicate(
    server: LiveServer, account: dict[str, Any]
) -> None:
    with FlakyProxy(server.url, "drop", faults=2) as proxy:
        async with simgate.AsyncClient(
            account["login"], account["accessKey"], base_url=proxy.url, **FAST
        ) as client:
            results = await client.send_sms(batch())
            contacts = await client.add_contacts([simgate.Contact("+33612345678", "Ann")])
    assert proxy.forwarded == 4  # 3 sendsms (2 dropped) + 1 contact
    assert [r.sent for r in results] == [True, True] and contacts[0].ok
    assert count_messages(server.engine, account["id"]) == 2


def test_5xx_is_retried_then_raised(server: LiveServer, account: dict[str, Any]) -> None:
    login, key = account["login"], account["accessKey"]
    with FlakyProxy(server.url, "503", faults=2) as proxy:
        with simgate.Client(login, key, base_url=proxy.url, **FAST) as client:
            assert client.send_sms(batch())[0].sent
    assert proxy.received == 3

    with FlakyProxy(server.url, "503", faults=100) as proxy:
        with simgate.Client(login, key, base_url=proxy.url, max_retries=2, **FAST) as client:
            with pytest.raises(simgate.ServerError) as caught:
                client.send_sms(batch())
            # Click-to-call might ring twice if repeated: a 5xx is not retried.
            with pytest.raises(simgate.ServerError):
                client.click_to_call("+33612345678")
    assert caught.value.status_code == 503
    assert proxy.received == 3 + 1
    assert count_messages(server.engine, account["id"]) == 2


def test_4xx_is_not_retried(server: LiveServer, account: dict[str, Any]) -> None:
    transport = CountingTransport()
    http = httpx.Client(transport=transport)
    client = simgate.Client(account["login"], "wrong", base_url=server.url, http_client=http)
    with pytest.raises(simgate.AuthenticationError):
        client.send_sms(batch())
    client.close()
    assert transport.calls == 1
    assert not http.is_closed  # the caller's client is the caller's to close
    http.close()


def test_server_down_gives_up_after_bounded_retries() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    transport = CountingTransport()
    with httpx.Client(transport=transport) as http:
        client = simgate.Client(
            "a@b.c", "k", base_url=closed, max_retries=2, http_client=http, **FAST
        )
        with pytest.raises(simgate.ApiConnectionError) as caught:
            client.send_sms(batch())
        assert transport.calls == 3
        with pytest.raises(simgate.ApiConnectionError):
            client.click_to_call("+33612345678")  # never reached the server: retried too
        assert transport.calls == 6
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert caught.value.code is None and caught.value.status_code is None


async def test_async_server_down_gives_up_after_bounded_retries() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    transport = AsyncCountingTransport()
    async with httpx.AsyncClient(transport=transport) as http:
        client = simgate.AsyncClient(
            "a@b.c", "k", base_url=closed, max_retries=1, http_client=http, **FAST
        )
        with pytest.raises(simgate.ApiConnectionError):
            await client.add_contacts([simgate.Contact("+33612345678")])
    assert transport.calls == 2


def test_timeout_after_retries_is_a_timeout_error(
    server: LiveServer, account: dict[str, Any]
) -> None:
    with FlakyProxy(server.url, "delay", faults=100, delay=0.4) as proxy:
        with simgate.Client(
            account["login"],
            account["accessKey"],
            base_url=proxy.url,
            timeout=0.2,
            max_retries=1,
            **FAST,
        ) as client:
            with pytest.raises(simgate.ApiTimeoutError):
                client.send_sms(batch())
            # A timed-out click-to-call may have reached a phone: not repeated.
            with pytest.raises(simgate.ApiTimeoutError):
                client.click_to_call("+33612345678")
    assert proxy.received == 3
    assert count_messages(server.engine, account["id"]) == 2
