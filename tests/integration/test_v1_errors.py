"""Whole-request errors: a 4xx, `{"result":"failed","errors":[CODE],"info":...}`, nothing stored."""

from __future__ import annotations

import json
import re
import secrets
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from simgate.config import Settings
from simgate.services.accounts import create_account, list_keys, revoke_key
from simgate.store.tables import contacts, messages
from tests.support.servers import LiveServer

ENDPOINTS = [
    "sendsms",
    "sendsms.php",
    "contact",
    "contact.php",
    "clicTocall",
    "clictocall",
    "clic.php",
]


@pytest.fixture
def server(shared_server: LiveServer) -> LiveServer:
    return shared_server  # one server per store for the module: each test has its own account


@pytest.fixture
def account(shared_account: dict[str, Any]) -> dict[str, Any]:
    return shared_account


def stored(server: LiveServer) -> tuple[int, int]:
    with server.engine.connect() as conn:
        return (
            int(conn.execute(select(func.count()).select_from(messages)).scalar_one()),
            int(conn.execute(select(func.count()).select_from(contacts)).scalar_one()),
        )


def assert_failed(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["result", "errors", "info"]
    assert body["result"] == "failed" and body["errors"] == [code]
    assert isinstance(body["info"], str) and body["info"]
    return body


def good_body(endpoint: str, account: dict[str, Any]) -> dict[str, Any]:
    header = {"login": account["login"], "accessKey": account["accessKey"]}
    if endpoint.startswith("sendsms"):
        return {"header": header, "messages": [{"phone_number": "+33612345678", "message": "x"}]}
    if endpoint.startswith("contact"):
        return {"header": header, "contacts": [{"firstname": "A", "phone_number": "+33612345678"}]}
    return {"header": {**header, "type": "clicToCall", "phone_number": "+33612345678"}}


NOT_JSON = [
    b"",
    b"not json",
    b'{"header": ',
    b"\xff\xfe{}",  # not UTF-8
    b'{"header": {"login": NaN}}',  # not JSON, though Python's json would take it
    b'{"header": {"login": "\\ud800"}}',  # a lone surrogate cannot be stored
    b"[" * 5000 + b"]" * 5000,  # deeper than any parser should recurse
]


def test_not_json_is_100(server: LiveServer) -> None:
    before = stored(server)
    for endpoint in ENDPOINTS:
        for raw in NOT_JSON:
            response = server.post(
                f"/api/v1/{endpoint}", content=raw, headers={"Content-Type": "application/json"}
            )
            assert_failed(response, 400, "#100")
    assert stored(server) == before


WRONG_SHAPES: list[tuple[str, Any]] = [
    ("sendsms", []),
    ("sendsms", "text"),
    ("sendsms", {}),
    ("sendsms", {"messages": []}),
    ("sendsms", {"header": "x", "messages": []}),
    ("sendsms", {"header": {}}),
    ("sendsms", {"header": {}, "messages": {"phone_number": "+33612345678"}}),
    ("contact", {"header": {}, "contacts": "x"}),
    ("contact", {"header": {}}),
    ("clicTocall", {"header": {"phone_number": "+33612345678"}}),
    ("clicTocall", {"header": {"type": "call", "phone_number": "+33612345678"}}),
]


def test_wrong_shape_is_101(server: LiveServer, account: dict[str, Any]) -> None:
    before = stored(server)
    for endpoint, body in WRONG_SHAPES:
        if isinstance(body, dict) and isinstance(body.get("header"), dict):
            body["header"].update(login=account["login"], accessKey=account["accessKey"])
        assert_failed(server.post(f"/api/v1/{endpoint}", json=body), 400, "#101")
    assert stored(server) == before


def test_unknown_login_wrong_key_revoked_key_answer_alike(
    server: LiveServer, account: dict[str, Any]
) -> None:
    before = stored(server)
    keys = list_keys(server.engine, account["login"])
    other, other_key = create_account(server.engine, f"{secrets.token_hex(5)}@example.com")
    revoke_key(server.engine, account["login"], keys[0].id)  # account's only key
    for endpoint in ENDPOINTS:
        check_auth_failures(server, account, other_key, endpoint, other.email)
    assert stored(server) == before


def check_auth_failures(
    server: LiveServer, account: dict[str, Any], other_key: str, endpoint: str, other_login: str
) -> None:
    def attempt(login: Any, key: Any, drop: str | None = None) -> dict[str, Any]:
        body = good_body(endpoint, {"login": login, "accessKey": key})
        if drop:
            del body["header"][drop]
        return assert_failed(server.post(f"/api/v1/{endpoint}", json=body), 401, "#102")

    answers = [
        attempt("nobody@example.com", account["accessKey"]),  # unknown login
        attempt(account["login"], account["accessKey"]),  # revoked key
        attempt(account["login"], "sgk_" + "x" * 43),  # wrong key
        attempt(account["login"], other_key),  # another account's key
        attempt(other_login, other_key + " "),
        attempt(account["login"], None, drop="accessKey"),
        attempt(None, account["accessKey"], drop="login"),
        attempt(123, ["list"]),
    ]
    assert all(a == answers[0] for a in answers)


@pytest.fixture
def small(settings: Settings) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    with LiveServer(settings, max_body_bytes=2000, max_messages_per_request=3) as live:
        _, key = create_account(live.engine, "small@example.com")
        yield live, {"login": "small@example.com", "accessKey": key}


def test_body_over_limit_is_103(small: tuple[LiveServer, dict[str, Any]]) -> None:
    for endpoint in ["sendsms", "contact", "clicTocall"]:
        check_body_limit(*small, endpoint)


def check_body_limit(server: LiveServer, account: dict[str, Any], endpoint: str) -> None:
    before = stored(server)
    body = good_body(endpoint, account)
    body["padding"] = "x" * 3000
    raw = json.dumps(body).encode()
    assert_failed(server.post(f"/api/v1/{endpoint}", content=raw), 413, "#103")

    def chunks() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding: chunked
        for start in range(0, len(raw), 500):
            yield raw[start : start + 500]

    response = server.post(f"/api/v1/{endpoint}", content=chunks())
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert_failed(response, 413, "#103")
    assert stored(server) == before
    # Just under the limit is fine.
    body["padding"] = "x" * 1500
    assert server.post(f"/api/v1/{endpoint}", json=body).status_code == 200


def test_declared_length_over_limit_is_103_before_reading(
    small: tuple[LiveServer, dict[str, Any]],
) -> None:
    server, _ = small
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/sendsms HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 999999999\r\n\r\n{}"
        )
        answer = _read_answer(sock)
    assert answer.startswith("HTTP/1.1 413 ")
    assert '"errors":["#103"]' in answer


def _read_answer(sock: socket.socket) -> str:
    """One whole HTTP answer: its head and body may arrive in separate reads."""
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode("latin-1")


def _length(data: bytes) -> int:
    match = re.search(rb"(?im)^content-length: *(\d+)", data.split(b"\r\n\r\n", 1)[0])
    return int(match[1]) if match else 0


@pytest.mark.parametrize(("endpoint", "field"), [("sendsms", "messages"), ("contact", "contacts")])
def test_more_items_than_limit_is_104(
    small: tuple[LiveServer, dict[str, Any]], endpoint: str, field: str
) -> None:
    server, account = small
    before = stored(server)
    body = good_body(endpoint, account)
    body[field] = body[field] * 4
    assert_failed(server.post(f"/api/v1/{endpoint}", json=body), 413, "#104")
    assert stored(server) == before
    body[field] = body[field][:3]
    assert server.post(f"/api/v1/{endpoint}", json=body).status_code == 200


def test_shape_is_checked_before_the_key(server: LiveServer) -> None:
    # Nothing about the account leaks through a malformed request either.
    response = server.post("/api/v1/sendsms", json={"header": {"login": "x", "accessKey": "y"}})
    assert_failed(response, 400, "#101")


def test_wrong_method_on_every_v1_path_is_105_with_allow(server: LiveServer) -> None:
    before = stored(server)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for endpoint in ENDPOINTS:
            for method in ["GET", "PUT", "DELETE", "PATCH"]:
                response = client.request(method, f"/api/v1/{endpoint}")
                body = assert_failed(response, 405, "#105")
                assert response.headers["allow"] == "POST"
                assert method in body["info"] and "POST" in body["info"]
    assert stored(server) == before


def test_unknown_api_endpoint_is_106(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for method, path in [
            ("POST", "/api/v1/nope"),
            ("GET", "/api/v1/nope"),
            ("POST", "/api/v1/sendsms/extra"),
            ("POST", "/api/v9/sendsms"),
        ]:
            body = assert_failed(client.request(method, path), 404, "#106")
            assert path in body["info"]


def test_outside_the_api_404_and_405_are_unchanged(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        # The dashboard and the rest keep the framework's answer...
        response = client.get("/app/no-such-page")
        assert response.status_code == 404 and response.json() == {"detail": "Not Found"}
        response = client.post("/healthz")
        assert response.status_code == 405 and response.json() == {"detail": "Method Not Allowed"}
        # ...and short links at the root their own plain 404.
        response = client.get("/nope")
        assert response.status_code == 404 and response.text == "Not found\n"
