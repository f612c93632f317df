"""The v2 envelope: credentials in the body, `success` a real boolean, the
contract's error codes with a fitting 4xx status, never a redirect; and the
`account` endpoints through the official client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from simgate.services.accounts import create_account
from tests.support import http_client
from tests.support.servers import LiveServer
from tests.support.v2 import call, insim, insim_json, ok, refused


def test_account_answers_both_field_sets(server: LiveServer, account: dict[str, Any]) -> None:
    body = ok(server.url, account, "account")
    acc = body["account"]
    assert list(body) == ["success", "account"]
    assert acc["login"] == account["login"]
    assert isinstance(acc["product"], str) and isinstance(acc["plan"], str)
    assert isinstance(acc["sms_credits"], int) and isinstance(acc["credits"], int)
    assert acc["country_code"] == "FR" and acc["active"] is True
    assert acc["devices_connected"] == 0
    assert acc["options"]["timezone"] == "Europe/Paris"


@pytest.mark.parametrize(
    ("login", "key"),
    [("nobody@example.com", "x"), (None, None), (5, [1]), ("a\x00b", "k")],
)
def test_bad_credentials(server: LiveServer, login: Any, key: Any) -> None:
    response = http_client.post(
        f"{server.url}/api/v2/account", json={"login": login, "accessKey": key}, timeout=10
    )
    assert response.status_code == 401
    assert response.json()["success"] is False
    assert response.json()["error_code"] == "INVALID_CREDENTIALS"


def test_wrong_key_of_a_real_login(server: LiveServer, account: dict[str, Any]) -> None:
    refused(server.url, {**account, "accessKey": "sk_wrong"}, "account", 401, "INVALID_CREDENTIALS")


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'"x"', b"\xff\xfe"])
def test_body_that_is_not_an_object(server: LiveServer, body: bytes) -> None:
    response = http_client.post(f"{server.url}/api/v2/account", content=body, timeout=10)
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert response.json()["error_code"] == "INVALID_JSON"


def test_unknown_endpoint_and_wrong_method(server: LiveServer, account: dict[str, Any]) -> None:
    refused(server.url, account, "no/such/thing", 404, "NOT_FOUND")
    got = http_client.get(f"{server.url}/api/v2/account", timeout=10, follow_redirects=False)
    assert got.status_code == 405 and got.json()["success"] is False
    assert got.headers["allow"] == "POST"


def test_a_trailing_slash_is_no_redirect(server: LiveServer, account: dict[str, Any]) -> None:
    response = call(server.url, account, "account/")
    assert response.status_code == 200 and response.json()["success"] is True


def test_too_large(server: LiveServer, account: dict[str, Any]) -> None:
    size = server.settings.max_body_bytes + 1
    response = http_client.post(
        f"{server.url}/api/v2/account",
        content=b"{" + b" " * size + b"}",
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413 and response.json()["error_code"] == "PAYLOAD_TOO_LARGE"


def test_rate_limit_per_account(shared_settings: Any) -> None:
    with LiveServer(shared_settings, api_v2_requests_per_minute=3) as live:
        acc, key = create_account(live.engine, "busy@example.com", "Europe/Paris", "FR")
        busy = {"login": acc.email, "accessKey": key}
        acc2, key2 = create_account(live.engine, "calm@example.com", "Europe/Paris", "FR")
        calm = {"login": acc2.email, "accessKey": key2}
        for _ in range(3):
            ok(live.url, busy, "account")
        body = refused(live.url, busy, "account", 429, "RATE_LIMIT_EXCEEDED")
        assert "retry" in body["error"]
        ok(live.url, calm, "account")  # one account's flood leaves the others alone


def test_webhooks_set_keep_and_clear(server: LiveServer, account: dict[str, Any]) -> None:
    names = ["incoming_sms", "delivery_status", "link_clicks", "call_events", "call_qualifications"]
    first = {name: f"http://127.0.0.1:9/{name}" for name in names}
    body = ok(server.url, account, "account/webhooks", webhooks=first)
    assert body["webhooks"] == first
    # "" keeps a URL, null clears it.
    second = {name: "" for name in names} | {"link_clicks": None}
    body = ok(server.url, account, "account/webhooks", webhooks=second)
    assert body["webhooks"] == first | {"link_clicks": ""}
    assert ok(server.url, account, "account/webhooks", action="get")["webhooks"] == body["webhooks"]
    bad = refused(
        server.url,
        account,
        "account/webhooks",
        422,
        "VALIDATION_ERROR",
        webhooks={"incoming_sms": "ftp://x"},
    )
    assert bad["field"] == "webhooks.incoming_sms"


@pytest.mark.client_side
def test_official_client_login_whoami_account_info(
    server: LiveServer, account: dict[str, Any], tmp_path: Path
) -> None:
    done = insim(
        server.url,
        account,
        "login",
        account["login"],
        "--key",
        account["accessKey"],
        home=tmp_path,
        json_mode=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Logged in successfully" in done.stdout
    whoami = insim_json(server.url, account, "whoami", home=tmp_path)
    assert whoami["login"] == account["login"] and whoami["active"] is True
    human = insim(server.url, account, "whoami", home=tmp_path, json_mode=False)
    assert human.returncode == 0 and "Devices Connected: 0" in human.stdout, human.stdout
    info = insim(server.url, account, "account", "info", home=tmp_path, json_mode=False)
    assert info.returncode == 0 and "self-hosted" in info.stdout, info.stdout
    assert "timezone: Europe/Paris" in info.stdout
    hooks = insim(
        server.url,
        account,
        "account",
        "webhooks-set",
        "--sms",
        "http://127.0.0.1:9/in",
        home=tmp_path,
        json_mode=False,
    )
    assert hooks.returncode == 0 and "Webhooks updated" in hooks.stdout


@pytest.mark.client_side
def test_official_client_shows_errors(server: LiveServer, tmp_path: Path) -> None:
    stranger = {"login": "nobody@example.com", "accessKey": "nope"}
    done = insim(server.url, stranger, "whoami", home=tmp_path, json_mode=False)
    assert done.returncode == 1
    assert "Error [INVALID_CREDENTIALS]" in done.stderr
