"""docs/sdk.md's Python examples run as printed: client examples against the
live server, webhook apps fed every kind of webhook."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from simgate._wire import WEBHOOK_KINDS
from simgate.domain import payloads
from tests.sdk.support import count_messages
from tests.sdk.test_webhooks import every_kind
from tests.support.servers import LiveServer

DOC = Path(__file__).parents[2] / "docs" / "sdk.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
V2_BLOCKS = [block for block in BLOCKS if "client.v2." in block]
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_the_doc_has_the_promised_examples() -> None:
    text = "\n".join(BLOCKS)
    for needle in ["send_sms", "date_to_send", "url=", "Flask(", "FastAPI(", "webhooks.verify"]:
        assert needle in text


def test_client_examples_run(
    server: LiveServer, account: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIMGATE_URL", server.url)
    monkeypatch.setenv("SIMGATE_LOGIN", account["login"])
    monkeypatch.setenv("SIMGATE_ACCESS_KEY", account["accessKey"])
    for block in BLOCKS:
        if "app = " not in block and block not in V2_BLOCKS:
            exec(compile(block, str(DOC), "exec"), {"__name__": "doc_example"})
    # send (2) + schedule (3) + link (1) + async (1); the refused one is not stored.
    assert count_messages(server.engine, account["id"]) == 7


def test_v2_examples_run(
    server: LiveServer, account: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert len(V2_BLOCKS) >= 6  # one a group, and the errors
    monkeypatch.setenv("SIMGATE_URL", server.url)
    monkeypatch.setenv("SIMGATE_LOGIN", account["login"])
    monkeypatch.setenv("SIMGATE_ACCESS_KEY", account["accessKey"])
    for block in V2_BLOCKS:
        # Callbacks to this machine only (the server may call them).
        block = block.replace("https://hooks.example.com", "http://127.0.0.1:9")
        exec(compile(block, str(DOC), "exec"), {"__name__": "doc_example"})


def deliveries(signed: bool) -> list[tuple[str, dict[str, str]]]:
    out = []
    for kind, payload in every_kind().items():
        text = payloads.json_text(payload)
        url = payloads.delivery_url("/simgate", kind, text)
        headers: dict[str, str] = {}
        if signed:
            stamp = int(time.time())
            headers = {
                "webhook-id": f"msg_{kind}",
                "webhook-timestamp": str(stamp),
                "webhook-signature": Webhook(SECRET).sign(
                    f"msg_{kind}", datetime.fromtimestamp(stamp, tz=UTC), text
                ),
            }
        out.append((url, headers))
    return out


@pytest.mark.parametrize("index", [i for i, b in enumerate(BLOCKS) if "app = " in b])
def test_webhook_examples_handle_every_kind(
    index: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SIMGATE_WEBHOOK_SECRET", SECRET)
    namespace: dict[str, Any] = {"__name__": "doc_example"}
    exec(compile(BLOCKS[index], str(DOC), "exec"), namespace)
    app = namespace["app"]
    signed = "webhooks.verify" in BLOCKS[index]
    get = getter(app)
    for url, headers in deliveries(signed):
        assert get(url, headers) == 200, url
    out = capsys.readouterr().out
    if signed:
        assert all(f"msg_{kind} {kind}" in out for kind in WEBHOOK_KINDS)
    else:  # the handler reached the SMS and the delivery status branches
        assert "SMS from +33612345678" in out and "id-1" in out
    # Bad input gets a 4xx, never a crash.
    assert get("/simgate?foo=1", {}) == 400
    if signed:
        url, headers = deliveries(True)[0]
        tampered = url.replace(urlsplit(url).query[-6:], "%7D%7D")
        assert get(tampered, headers) == 401


def getter(app: Any) -> Callable[[str, dict[str, str]], int]:
    """GET on the app in process: Flask's test client, or httpx over ASGI."""
    if hasattr(app, "test_client"):
        flask_client = app.test_client()
        return lambda url, headers: int(flask_client.get(url, headers=headers).status_code)

    def get(url: str, headers: dict[str, str]) -> int:
        async def go() -> int:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://doc") as client:
                return (await client.get(url, headers=headers)).status_code

        return asyncio.run(go())

    return get
