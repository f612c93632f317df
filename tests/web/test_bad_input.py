"""Inputs that used to give 500s answer a 4xx or a form error, on both stores.

Each once reached the store or a date conversion unchecked: dates at the ends
of the calendar (OverflowError in the account's time zone), ids past the
column's range (SQLite overflows, PostgreSQL refuses), "²" (a digit to
str.isdigit(), not to int()) and NUL characters (PostgreSQL refuses them).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from simgate.services.passwords import set_password
from simgate.store.tables import messages
from tests.support.servers import LiveServer
from tests.web.helpers import PASSWORD, csrf_of, signed_in_client

TOO_BIG = "99999999999999999999999"
INT32_PAST = str(2**31)  # contacts, devices and keys have 32-bit ids on PostgreSQL
INT64_PAST = str(2**63)


@pytest.fixture
def client(server: LiveServer, account: dict[str, Any]) -> Iterator[httpx.Client]:
    set_password(server.engine, account["login"], PASSWORD)
    with signed_in_client(server.url, account["login"]) as client:
        yield client


def post(client: httpx.Client, path: str, **data: str) -> httpx.Response:
    token = csrf_of(client.get("/app/keys").text)
    return client.post(path, data={**data, "csrf_token": token})


def test_calendar_edges_in_filters_and_send_times_are_form_errors(
    client: httpx.Client, server: LiveServer, account: dict[str, Any]
) -> None:
    for query in ("from=0001-01-01", "to=9999-12-31", "from=2026-02-30"):
        answer = client.get("/app/messages?" + query)
        assert answer.status_code == 200, query
        assert "use a date like 2026-01-31" in answer.text, query
    # The last day that still converts is a filter like any other.
    assert client.get("/app/messages?from=9999-12-31&to=0001-01-01").status_code == 200
    # Send times are taken between 2000 and 2099, as on the API (#004).
    for at in ("0001-01-01 00:00:00", "9999-12-31T23:59:59-05:00", "2100-01-01 00:00"):
        answer = post(client, "/app/send", numbers="0612345678", text="hi", url="", at=at)
        assert answer.status_code == 400 and 'id="at-error"' in answer.text, at
    with server.engine.connect() as conn:
        assert not conn.execute(
            select(messages.c.id).where(messages.c.account_id == account["id"])
        ).first()
    assert client.get("/app/messages").status_code == 200


def test_ids_past_the_column_range_are_404(client: httpx.Client) -> None:
    for path in (
        f"/app/messages/{TOO_BIG}",
        f"/app/messages/{INT64_PAST}",
        f"/app/messages/{'1' * 5000}",  # past Python's 4300-digit int() limit
        f"/app/contacts/{TOO_BIG}",
        f"/app/contacts/{INT32_PAST}",
    ):
        answer = client.get(path)
        assert answer.status_code == 404 and "There is no such" in answer.text, path
    for path in (
        f"/app/contacts/{INT32_PAST}",
        f"/app/contacts/{INT32_PAST}/delete",
        f"/app/calls/{INT64_PAST}/qualify",
        f"/app/calls/{TOO_BIG}/qualify",
        f"/app/keys/{INT32_PAST}/revoke",
        f"/app/devices/{INT32_PAST}/remove",
        f"/app/webhooks/{INT64_PAST}/replay",
        f"/app/webhooks/{TOO_BIG}/replay",
    ):
        answer = post(client, path, text="hello", phone_number="0612345678")
        assert answer.status_code == 404, path


def test_unicode_digits_in_page_and_rate_are_refused_politely(client: httpx.Client) -> None:
    for path in ("/app/messages", "/app/contacts", "/app/calls", "/app/links", "/app/webhooks"):
        for page in ("²", "٣", "1e3", "-1", "0", "99999999999"):
            answer = client.get(path, params={"page": page})
            assert answer.status_code == 200, (path, page)
            assert "page 1" in answer.text or "pager" not in answer.text, (path, page)
    for rate in ("²", "١٠", "0", "10001", " 60 "):
        answer = post(client, "/app/devices", name="Office phone", rate=rate)
        if rate == " 60 ":
            assert answer.status_code == 200 and "is paired" in answer.text
        else:
            assert answer.status_code == 400 and 'id="rate-error"' in answer.text, rate


def test_nul_in_any_field_or_parameter_is_a_400(
    client: httpx.Client, server: LiveServer, account: dict[str, Any]
) -> None:
    for path in ("/app/contacts?q=a%00b", "/app/messages?number=06%00", "/app/webhooks?state=%00"):
        answer = client.get(path)
        assert answer.status_code == 400 and "NUL" in answer.text, path
    for path, data in (
        ("/app/send", {"numbers": "0612345678", "text": "hi\x00", "url": "", "at": ""}),
        ("/app/webhooks", {"status": "http://127.0.0.1:9/\x00"}),
        ("/app/devices", {"name": "phone\x00", "rate": "60"}),
        ("/app/calls/1/qualify", {"text": "\x00"}),
    ):
        answer = post(client, path, **data)
        assert answer.status_code == 400 and "NUL" in answer.text, path
    token = csrf_of(client.get("/app/contacts").text)
    answer = client.post(
        "/app/contacts/import",
        data={"csrf_token": token},
        files={"file": ("c.csv", "phone_number\n0612345678\n".encode("utf-16"), "text/csv")},
    )
    assert answer.status_code == 400 and "NUL characters" in answer.text
    with httpx.Client(base_url=server.url) as visitor:
        token = csrf_of(visitor.get("/app/login").text)
        answer = visitor.post(
            "/app/login",
            data={"email": account["login"] + "\x00", "password": PASSWORD, "csrf_token": token},
        )
        assert answer.status_code == 400 and "NUL" in answer.text
