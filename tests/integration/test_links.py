"""Tracked short links: GET {public-url}/{code} → 302 to the url, each click stored."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from simgate.domain.dates import utcnow
from simgate.store.tables import link_clicks, messages
from tests.support.servers import LiveServer

BROWSER = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36"


def send_link(server: LiveServer, account: dict[str, Any], url: str) -> str:
    body = {
        "header": {"login": account["login"], "accessKey": account["accessKey"]},
        "messages": [{"phone_number": "+33612345678", "message": "Offer [link]", "url": url}],
    }
    answer = server.post("/api/v1/sendsms", json=body).json()
    match = re.fullmatch(rf"Offer {re.escape(server.url)}/([0-9A-Za-z]+)", answer[0]["message"])
    assert match, answer
    return match.group(1)


def clicks(server: LiveServer) -> list[Any]:
    with server.engine.connect() as conn:
        return list(conn.execute(select(link_clicks).order_by(link_clicks.c.id)))


def test_click_redirects_and_is_stored(server: LiveServer, account: dict[str, Any]) -> None:
    target = "https://shop.example/offer?id=42&utm=sms"
    code = send_link(server, account, target)
    assert len(code) >= 10
    before = utcnow()
    response = server.get(f"/{code}", headers={"User-Agent": BROWSER})
    assert response.status_code == 302
    assert response.headers["location"] == target
    assert response.headers["cache-control"] == "no-store"
    stored = clicks(server)
    assert len(stored) == 1
    click = stored[0]
    assert click.user_agent == BROWSER and click.ip == "127.0.0.1" and not click.is_preview
    assert before - timedelta(seconds=1) <= click.clicked_at <= utcnow() + timedelta(seconds=1)
    with server.engine.connect() as conn:
        message_id = conn.execute(select(messages.c.id).where(messages.c.short_code == code))
        assert click.message_id == message_id.scalar_one()
    # Every click counts.
    server.get(f"/{code}", headers={"User-Agent": BROWSER})
    assert len(clicks(server)) == 2


def test_previews_are_redirected_and_marked(server: LiveServer, account: dict[str, Any]) -> None:
    code = send_link(server, account, "https://example.com/")
    with httpx.Client(base_url=server.url) as client:
        assert client.get(f"/{code}", headers={"User-Agent": "WhatsApp/2.23"}).status_code == 302
        assert client.head(f"/{code}", headers={"User-Agent": BROWSER}).status_code == 302
    assert [c.is_preview for c in clicks(server)] == [True, True]


def test_unknown_code_is_plain_404(server: LiveServer, account: dict[str, Any]) -> None:
    send_link(server, account, "https://example.com/")
    with httpx.Client(base_url=server.url) as client:
        for path in ["/ZZZZZZZZZZZ", "/abc", "/" + "a" * 40, "/bad-code-!!", "/favicon.ico"]:
            response = client.get(path)
            assert response.status_code == 404, path
            assert response.headers["content-type"].startswith("text/plain")
            assert "location" not in response.headers
    assert clicks(server) == []


def test_message_without_url_has_no_code(server: LiveServer, account: dict[str, Any]) -> None:
    body = {
        "header": {"login": account["login"], "accessKey": account["accessKey"]},
        "messages": [{"phone_number": "+33612345678", "message": "Hi [link]"}],
    }
    assert server.post("/api/v1/sendsms", json=body).json()[0]["message"] == "Hi"
    with server.engine.connect() as conn:
        assert conn.execute(select(messages.c.short_code)).scalar_one() is None


def test_codes_are_unique_per_message(server: LiveServer, account: dict[str, Any]) -> None:
    body = {
        "header": {"login": account["login"], "accessKey": account["accessKey"]},
        "messages": [
            {"phone_number": "+33612345678", "message": "x", "url": "https://example.com/"}
        ]
        * 200,
    }
    answer = server.post("/api/v1/sendsms", json=body).json()
    codes = {item["message"].rsplit("/", 1)[1] for item in answer}
    assert len(codes) == 200
