"""The `clics` webhook: a person's click on a tracked link, never a preview or HEAD."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from simgate.services.accounts import create_account
from simgate.services.webhook_admin import set_callbacks
from simgate.store.tables import link_clicks, messages
from tests.support import http_client
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.webhooks.conftest import Recorder, rows

BROWSER = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36"


def send_with_link(server: LiveServer, email: str, link: str) -> tuple[str, str, str]:
    """POST one SMS with a tracked link through /api/v1/sendsms; (key, short code, id)."""
    with server.engine.connect() as conn:
        from simgate.services.accounts import get_account

        try:
            get_account(conn, email)
            exists = True
        except Exception:
            exists = False
    if exists:
        from simgate.services.accounts import create_key

        key = create_key(server.engine, email)
    else:
        _, key = create_account(server.engine, email, "Europe/Paris", "FR")
    body = {
        "header": {"login": email, "accessKey": key},
        "messages": [
            {"phone_number": "+33612345678", "message": "Offre [Lien_Tracking]", "url": link}
        ],
    }
    answer = server.post("/api/v1/sendsms", json=body).json()
    assert answer[0]["sent"] == 1, answer
    with server.engine.connect() as conn:
        code = conn.execute(
            select(messages.c.short_code).where(messages.c.id_sms_api == answer[0]["id_sms_api"])
        ).scalar()
    return key, str(code), str(answer[0]["id_sms_api"])


def test_previews_and_head_are_redirected_but_send_nothing(
    fast_server: LiveServer, recorder: Recorder
) -> None:
    email = "clicks@example.com"
    create_account(fast_server.engine, email, "Europe/Paris", "FR")
    set_callbacks(fast_server.engine, email, {"clics": recorder.url + "/c"}, allow_private=True)
    _, code, id_sms_api = send_with_link(fast_server, email, "https://example.com/x")
    url = f"{fast_server.url}/{code}"
    for agent in (
        "WhatsApp/2.23.20.0 A",
        "facebookexternalhit/1.1",
        "TelegramBot (like TwitterBot)",
    ):
        assert http_client.get(url, headers={"user-agent": agent}).status_code == 302
    assert httpx.head(url, headers={"user-agent": BROWSER}).status_code == 302
    assert rows(fast_server.engine) == []
    # A person's click sends one.
    assert http_client.get(url, headers={"user-agent": BROWSER}).status_code == 302
    wait_for(recorder.acked)
    with fast_server.engine.connect() as conn:
        flags = [r.is_preview for r in conn.execute(select(link_clicks).order_by(link_clicks.c.id))]
    assert flags == [True, True, True, True, False]
    assert len(rows(fast_server.engine)) == 1
    assert id_sms_api in httpx.URL(recorder.url + recorder.requests[0]["target"]).params["clics"]


def test_no_callback_url_no_row(fast_server: LiveServer) -> None:
    _, code, _ = send_with_link(fast_server, "nourl@example.com", "https://example.com/y")
    assert (
        http_client.get(f"{fast_server.url}/{code}", headers={"user-agent": BROWSER}).status_code
        == 302
    )
    assert rows(fast_server.engine) == []
