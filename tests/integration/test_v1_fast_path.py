"""The short way in for sendsms (api/fast.py) answers as the FastAPI route does.

Each case is sent twice to the same app, in process: once as served (the
short way) and once through FastAPI's own stack (the route), and the ASGI
messages sent back must be the same, byte for byte, but for the ids a new
message gets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from starlette.types import Message

from simgate.api import fast
from simgate.app import create_app
from simgate.config import Settings
from simgate.runtime import runtime_of
from simgate.services.accounts import create_account
from tests.support.clock import ManualClock

Sent = list[Message]


@pytest.fixture(scope="module")
def app(shared_settings: Settings) -> Iterator[fast.App]:
    built = create_app(shared_settings, clock=ManualClock(datetime(2026, 11, 26, 12, 0)))
    assert isinstance(built, fast.App)
    yield built
    runtime_of(built).engine.dispose()


@pytest.fixture(scope="module")
def header(app: fast.App) -> dict[str, str]:
    account, key = create_account(runtime_of(app).engine, "fast@example.com")
    return {"login": account.email, "accessKey": key}


def scope(path: str, body: bytes, method: str = "POST", root_path: str = "") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": method,
        "root_path": root_path,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            # Both ways answer it back (api/observed.py); a made one would differ.
            (b"x-request-id", b"fast-path-test"),
        ],
        "state": {},
    }


async def call(
    app: fast.App, path: str, body: bytes, *, routed: bool, chunks: list[Message] | None = None
) -> Sent:
    """The messages `app` sends for one request; `routed` takes FastAPI's stack."""
    incoming = list(chunks) if chunks is not None else [{"type": "http.request", "body": body}]
    sent: Sent = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    if routed:
        await FastAPI.__call__(app, scope(path, body), receive, send)
    else:
        await app(scope(path, body), receive, send)
    return sent


def without_new_ids(sent: Sent) -> Sent:
    """The messages with each generated id_sms_api (and the length it changes) blanked."""
    out: Sent = []
    for message in sent:
        if message["type"] == "http.response.body":
            body = re.sub(rb'"id_sms_api":"[0-9A-Za-z]{15}"', b'"id_sms_api":"?"', message["body"])
            message = {**message, "body": body}
        if message["type"] == "http.response.start":
            message = {
                **message,
                "headers": [
                    (k, b"?" if k == b"content-length" else v) for k, v in message["headers"]
                ],
            }
        out.append(message)
    return out


def sendsms(header: dict[str, str], *messages: dict[str, Any]) -> bytes:
    return orjson.dumps({"header": header, "messages": list(messages)})


CASES = {
    "one message": lambda h: sendsms(h, {"phone_number": "+33612345678", "message": "Hello"}),
    "a wrong number": lambda h: sendsms(h, {"phone_number": "12", "message": "Hello"}),
    "a batch": lambda h: sendsms(
        h, *({"phone_number": f"+3361234567{i}", "message": f"n{i} é"} for i in range(5))
    ),
    "not JSON (#100)": lambda h: b'{"header": ',
    "no header (#101)": lambda h: b'{"messages": []}',
    "messages not a list (#101)": lambda h: orjson.dumps({"header": h, "messages": {}}),
    "a wrong key (#102)": lambda h: sendsms({**h, "accessKey": "sgk_wrong"}, {"message": "x"}),
    "too many messages (#104)": lambda h: sendsms(h, *([{"message": "x"}] * 10_001)),
}


@pytest.mark.parametrize("path", ["/api/v1/sendsms", "/api/v1/sendsms.php"])
@pytest.mark.parametrize("case", list(CASES))
async def test_the_short_way_answers_as_the_route(
    app: fast.App, header: dict[str, str], path: str, case: str
) -> None:
    body = CASES[case](header)
    short = await call(app, path, body, routed=False)
    routed = await call(app, path, body, routed=True)
    assert without_new_ids(short) == without_new_ids(routed)
    assert short[0]["type"] == "http.response.start"


async def test_a_repeated_client_id_answers_the_stored_message_both_ways(
    app: fast.App, header: dict[str, str]
) -> None:
    body = sendsms(header, {"id_sms_api": "fast-1", "phone_number": "+33612345678", "message": "x"})
    first = await call(app, "/api/v1/sendsms", body, routed=False)
    assert await call(app, "/api/v1/sendsms", body, routed=True) == first
    assert await call(app, "/api/v1/sendsms", body, routed=False) == first
    assert b'"sent":1' in first[1]["body"]


async def test_a_body_over_the_limit_is_103_both_ways(
    app: fast.App, header: dict[str, str]
) -> None:
    limit = runtime_of(app).settings.max_body_bytes
    chunks: list[Message] = [
        {"type": "http.request", "body": b" " * (limit // 2 + 1), "more_body": True},
        {"type": "http.request", "body": b" " * (limit // 2 + 1), "more_body": False},
    ]
    # Chunked (no length declared): the count while reading stops it.
    short = await call(app, "/api/v1/sendsms", b"", routed=False, chunks=chunks)
    routed = await call(app, "/api/v1/sendsms", b"", routed=True, chunks=chunks)
    assert short == routed
    assert short[0]["status"] == 413 and b'"#103"' in short[1]["body"]


async def test_a_client_gone_mid_body_gets_what_the_route_gives(app: fast.App) -> None:
    chunks: list[Message] = [
        {"type": "http.request", "body": b'{"header": ', "more_body": True},
        {"type": "http.disconnect"},
    ]
    short = await call(app, "/api/v1/sendsms", b"", routed=False, chunks=chunks)
    routed = await call(app, "/api/v1/sendsms", b"", routed=True, chunks=chunks)
    assert short == routed
    assert short[0]["status"] == 400


async def test_an_unexpected_error_is_a_500_raised_on_to_the_server(
    app: fast.App, header: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: Any, **_kw: Any) -> Any:
        raise RuntimeError("the store fell over")

    monkeypatch.setattr("simgate.api.v1.accept_with_key", broken)
    body = CASES["one message"](header)
    answers = []
    for routed in (False, True):
        sent: Sent = []

        async def receive() -> Message:
            return {"type": "http.request", "body": body}

        async def send(message: Message, sent: Sent = sent) -> None:
            sent.append(message)

        with pytest.raises(RuntimeError, match="fell over"):
            if routed:
                await FastAPI.__call__(app, scope("/api/v1/sendsms", body), receive, send)
            else:
                await app(scope("/api/v1/sendsms", body), receive, send)
        answers.append(sent)
    assert answers[0] == answers[1]
    assert answers[0][0]["status"] == 500 and answers[0][1]["body"] == b"Internal Server Error"


@pytest.mark.parametrize(
    ("method", "path", "root_path"),
    [
        ("GET", "/api/v1/sendsms", ""),  # 405 #105, from the router
        ("POST", "/api/v1/sendsms/", ""),  # not an exact path
        ("POST", "/api/v1/sendsms", "/gateway"),  # under a proxy's prefix
    ],
)
async def test_anything_else_goes_through_fastapi(
    app: fast.App,
    header: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    path: str,
    root_path: str,
) -> None:
    taken: list[str] = []

    async def noted(*args: Any) -> None:
        taken.append("short")

    monkeypatch.setattr(fast, "_serve", noted)
    body = CASES["one message"](header)
    sent: Sent = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope(path, body, method=method, root_path=root_path), receive, send)
    assert taken == [] and sent[0]["type"] == "http.response.start"
