"""Every page over real HTTP on both stores: renders without JavaScript, shows field
errors, escapes what users typed, and never shows another account's rows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select

from simgate.domain.dates import utcnow
from simgate.services.accounts import create_account
from simgate.services.devices import add_device
from simgate.services.passwords import hash_password, set_password
from simgate.store.tables import calls, contacts, messages, webhooks
from tests.support.servers import LiveServer
from tests.web.helpers import PASSWORD, csrf_of, signed_in_client

PAGES = [
    "/app/",
    "/app/messages",
    "/app/send",
    "/app/contacts",
    "/app/calls",
    "/app/links",
    "/app/webhooks",
    "/app/devices",
    "/app/keys",
    "/app/sessions",
]


@pytest.fixture
def client(server: LiveServer, account: dict[str, Any]) -> Iterator[httpx.Client]:
    set_password(server.engine, account["login"], PASSWORD)
    with signed_in_client(server.url, account["login"]) as client:
        yield client


def post(client: httpx.Client, path: str, page: str, **data: str) -> httpx.Response:
    token = csrf_of(client.get(page).text)
    return client.post(path, data={**data, "csrf_token": token})


def test_every_page_renders_for_a_new_account(client: httpx.Client) -> None:
    for path in PAGES:
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"].startswith("text/html")
        assert "no-store" in answer.headers["cache-control"]
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        # Scripts and styles come from the package, never a CDN.
        assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', answer.text)
        assert assets and all(a.startswith("/app/static/") for a in assets), assets
    assert client.get("/app/static/htmx.min.js").status_code == 200
    assert client.get("/app").status_code == 307


def test_send_form_errors_sit_next_to_their_fields(client: httpx.Client) -> None:
    answer = post(client, "/app/send", "/app/send", numbers="", text=" ", url="", at="")
    assert answer.status_code == 400
    assert 'id="numbers-error"' in answer.text and 'id="text-error"' in answer.text
    answer = post(
        client,
        "/app/send",
        "/app/send",
        numbers="+33612345678, 12, 0612345679",
        text="Hi [link]",
        url="ftp://nope",
        at="tomorrow",
    )
    assert answer.status_code == 400
    assert 'id="at-error"' in answer.text
    answer = post(
        client,
        "/app/send",
        "/app/send",
        numbers="+33612345678\r\n12\r\n0612345679",
        text="Line one\r\nline two",
        url="",
        at="",
    )
    assert answer.status_code == 200
    assert "2 of 3 accepted" in answer.text
    assert "Not valid phone numbers: 12" in answer.text
    assert "invalid phone number" in answer.text


def test_send_schedules_in_the_account_time_zone(
    client: httpx.Client, server: LiveServer, account: dict[str, Any]
) -> None:
    answer = post(
        client,
        "/app/send",
        "/app/send",
        numbers="0612345678",
        text="Later",
        url="https://example.com/x",
        at="2099-01-15T09:30",
    )
    assert answer.status_code == 200 and "1 of 1 accepted" in answer.text
    with server.engine.connect() as conn:
        row = conn.execute(select(messages).where(messages.c.account_id == account["id"])).one()
    assert row.state == "scheduled"
    assert row.send_at.isoformat() == "2099-01-15T08:30:00"  # Paris is UTC+1 in January
    assert row.message == "Later" + " " + server.runtime.public_url + "/" + row.short_code
    assert "\r" not in row.message
    detail = client.get(f"/app/messages/{row.id}")
    assert detail.status_code == 200 and "2099-01-15 09:30:00" in detail.text
    # htmx asks for the live part only, and keeps polling while not final.
    live = client.get(f"/app/messages/{row.id}", headers={"HX-Request": "true"})
    assert live.status_code == 200 and "<html" not in live.text


def test_what_users_typed_is_escaped(
    client: httpx.Client, server: LiveServer, account: dict[str, Any]
) -> None:
    now = utcnow()
    with server.engine.begin() as conn:
        conn.execute(
            insert(contacts).values(
                account_id=account["id"],
                phone_number="+33612345678",
                firstname="<script>alert(1)</script>",
                lastname='"><img src=x>',
                created_at=now,
                updated_at=now,
            )
        )
    page = client.get("/app/contacts?q=<script>")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert '"><img src=x>' not in page.text


def test_other_accounts_rows_stay_hidden(
    client: httpx.Client, server: LiveServer, account: dict[str, Any]
) -> None:
    other, key = create_account(server.engine, "other@example.com", password_hash=None)
    now = utcnow()
    with server.engine.begin() as conn:
        message_id = conn.execute(
            insert(messages).values(
                account_id=other.id,
                id_sms_api="x1",
                request_hash="h",
                phone_number="+33611111111",
                message="secret text",
                priority=1,
                encoding="GSM-7",
                segments=1,
                state="queued",
                send_at=now,
                created_at=now,
                attempts=0,
            )
        ).inserted_primary_key[0]
        contact_id = conn.execute(
            insert(contacts).values(
                account_id=other.id,
                phone_number="+33611111111",
                firstname="Other",
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]
        call_id = conn.execute(
            insert(calls).values(
                account_id=other.id,
                kind="incoming_call",
                phone_number="+33611111111",
                call_time=now - timedelta(minutes=1),
                duration="0",
            )
        ).inserted_primary_key[0]
        hook_id = conn.execute(
            insert(webhooks).values(
                event_id="msg_other",
                account_id=other.id,
                kind="status",
                url="http://x",
                payload="{}",
                state="dead",
                attempts=3,
                next_attempt_at=now,
                created_at=now,
            )
        ).inserted_primary_key[0]
    device_id, _ = add_device(server.engine, other.email, "their phone")
    assert client.get(f"/app/messages/{message_id}").status_code == 404
    assert "secret text" not in client.get("/app/messages").text
    assert client.get(f"/app/contacts/{contact_id}").status_code == 404
    for path in (
        f"/app/contacts/{contact_id}/delete",
        f"/app/calls/{call_id}/qualify",
        f"/app/webhooks/{hook_id}/replay",
        f"/app/devices/{device_id}/remove",
        "/app/keys/1/revoke" if account["id"] != 1 else "/app/keys/2/revoke",
    ):
        answer = post(client, path, "/app/keys", text="hello")
        assert answer.status_code == 404, path
    assert "their phone" not in client.get("/app/devices").text


def test_contact_edit_refuses_bad_values(
    client: httpx.Client, server: LiveServer, account: dict[str, Any]
) -> None:
    now = utcnow()
    with server.engine.begin() as conn:
        ids = [
            conn.execute(
                insert(contacts).values(
                    account_id=account["id"], phone_number=number, created_at=now, updated_at=now
                )
            ).inserted_primary_key[0]
            for number in ("+33612345678", "+33612345679")
        ]
    page = f"/app/contacts/{ids[0]}"
    answer = post(client, page, page, phone_number="nope", email="bad@", firstname="A")
    assert answer.status_code == 400
    assert 'id="phone_number-error"' in answer.text and 'id="email-error"' in answer.text
    answer = post(client, page, page, phone_number="0612345679", email="", firstname="A")
    assert answer.status_code == 400 and "another contact already has this number" in answer.text
    answer = post(client, page, page, phone_number="0612345670", email="a@b.fr", firstname="A")
    assert answer.status_code == 303
    exported = client.get("/app/contacts/export.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert "+33612345670,A,,,a@b.fr" in exported.text


def test_webhook_urls_are_checked_and_replay_works(
    client: httpx.Client, server: LiveServer, account: dict[str, Any]
) -> None:
    answer = post(
        client,
        "/app/webhooks",
        "/app/webhooks",
        status="javascript:alert(1)",
        calls="http://ok.example/c",
    )
    assert answer.status_code == 400 and 'id="status-error"' in answer.text
    answer = post(client, "/app/webhooks", "/app/webhooks", status="http://127.0.0.1:9/s")
    assert answer.status_code == 303
    now = utcnow()
    with server.engine.begin() as conn:
        hook_id = conn.execute(
            insert(webhooks).values(
                event_id="msg_dead",
                account_id=account["id"],
                kind="status",
                url="https://old.example/s",
                payload="{}",
                state="dead",
                attempts=9,
                next_attempt_at=now,
                created_at=now,
                last_error="timed out after 5 s",
            )
        ).inserted_primary_key[0]
    page = client.get("/app/webhooks?state=dead")
    assert "timed out after 5 s" in page.text
    answer = post(client, f"/app/webhooks/{hook_id}/replay", "/app/webhooks")
    assert answer.status_code == 303
    with server.engine.connect() as conn:
        row = conn.execute(select(webhooks).where(webhooks.c.id == hook_id)).one()
    assert row.state in ("pending", "done", "dead") and row.url == "http://127.0.0.1:9/s"
    answer = post(client, "/app/webhooks/secret", "/app/webhooks", action="new")
    assert answer.status_code == 303
    assert "whsec_" in client.get("/app/webhooks").text
    post(client, "/app/webhooks/secret", "/app/webhooks", action="remove")
    assert "whsec_" not in client.get("/app/webhooks").text


def test_a_large_or_broken_upload_is_refused_politely(client: httpx.Client) -> None:
    token = csrf_of(client.get("/app/contacts").text)
    answer = client.post(
        "/app/contacts/import",
        data={"csrf_token": token},
        files={"file": ("c.csv", b"name,email\nAda,ada@example.com\n", "text/csv")},
    )
    assert answer.status_code == 400 and "phone_number" in answer.text
    answer = client.post(
        "/app/contacts/import",
        data={"csrf_token": token},
        files={"file": ("c.csv", b"x" * (6 * 1024 * 1024), "text/csv")},
    )
    assert answer.status_code == 413 and "CSV files up to 5 MB" in answer.text


def test_password_hash_is_argon2id() -> None:
    assert hash_password("long enough password").startswith("$argon2id$")
    with pytest.raises(ValueError):
        hash_password("short")


def test_list_pages_link_newer_and_older_by_keyset(
    client: httpx.Client,
    server: LiveServer,
    account: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = utcnow()
    with server.engine.begin() as conn:
        conn.execute(
            insert(messages),
            [
                {
                    "account_id": account["id"],
                    "id_sms_api": f"k{i}",
                    "request_hash": "h",
                    "phone_number": f"+336000000{i:02d}",
                    "message": f"text {i}",
                    "priority": 1,
                    "encoding": "GSM-7",
                    "segments": 1,
                    "state": "received",
                    "send_at": now,
                    "created_at": now - timedelta(minutes=i),
                    "attempts": 0,
                }
                for i in range(60)
            ],
        )

    def links(text: str) -> dict[str, str]:
        found = re.findall(r'<a href="([^"]+)">(← newer|older →)</a>', text)
        return {label: href.replace("&amp;", "&") for href, label in found}

    first = client.get("/app/messages", params={"state": "received"}).text
    assert "page 1" in first and "← newer" not in links(first)
    second = client.get(links(first)["older →"]).text
    assert "page 2" in second and "text 59" in second and "text 0<" not in second
    assert "state=received" in links(second)["← newer"]
    assert "text 0<" in client.get(links(second)["← newer"]).text
    # A part of a number: each page looks through a bounded window, and says so.
    monkeypatch.setattr("simgate.store.dashboard.common.SCAN_WINDOW", 20)
    partial = client.get("/app/messages", params={"number": "5"}).text  # m5, m15 in 0..19
    assert 'id="scanned"' in partial and "+33600000015" in partial
    assert "+33600000025" not in partial
    assert "+33600000025" in client.get(links(partial)["older →"]).text
