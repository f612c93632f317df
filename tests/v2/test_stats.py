"""v2 stats/overview and stats/clicks: on both stores, over HTTP and through
the official client, from messages a phone delivered, SMS and calls it
reported, links people opened and contacts stored through v1."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from simgate.domain.dates import utcnow
from simgate.services.accounts import create_account
from simgate.store.tables import contacts
from tests.support import http_client
from tests.support.servers import LiveServer
from tests.support.v2 import insim, insim_json, ok, refused
from tests.support.v2_phone import Phone

BROWSER = "Mozilla/5.0 (X11; Linux x86_64)"
PREVIEW = "facebookexternalhit/1.1"


def send_with_links(
    server: LiveServer, account: dict[str, Any], count: int
) -> list[dict[str, Any]]:
    items = [
        {"phone_number": f"+3361234560{i}", "message": f"Offer {i}: [link]",
         "url": f"https://example.com/{i}"}
        for i in range(count)
    ]  # fmt: skip
    results: list[dict[str, Any]] = ok(server.url, account, "sendsms", messages=items)["result"]
    return results


def short_link(server: LiveServer, account: dict[str, Any], sms_id: str) -> str:
    link: str = ok(server.url, account, "sms/detail", sms_id=sms_id)["sms"]["short_link"]
    return link


def open_link(link: str, agent: str = BROWSER) -> None:
    response = http_client.get(link, headers={"user-agent": agent}, timeout=10)
    assert response.status_code in (302, 303, 307), response


def test_overview_counts_everything_of_the_account(
    server: LiveServer, account: dict[str, Any], phone: Phone
) -> None:
    results = send_with_links(server, account, 4)
    outcomes = {"+33612345600": "delivered", "+33612345601": "failed", "+33612345602": "sent"}
    for _ in outcomes:
        command = phone.take()
        phone.report(command, outcomes[command["to"]])
    # The fourth stays with the phone, unreported: pending.
    now = utcnow()
    phone.receive("+33698765432", "yes", at=now - timedelta(minutes=5))
    phone.receive("+33698765432", "old", at=now - timedelta(days=30))
    phone.call("incoming_call", "+33698765432", "00:00:40", at=now - timedelta(hours=1))
    phone.call("missed_call", "+33698765432", "0", at=now - timedelta(hours=1))
    phone.call("outgoing_call", "+33698765432", "00:01:00", at=now - timedelta(days=30))
    option = ok(server.url, account, "qualifications/options/create", label="Sold")["option_id"]
    first_call = ok(server.url, account, "calls", type="incoming")["calls"][0]["call_id"]
    ok(server.url, account, "calls/qualify", call_id=first_call, option_id=option)
    link = short_link(server, account, results[0]["sms_id"])
    open_link(link)
    open_link(link)
    open_link(link, PREVIEW)
    v1 = server.post(
        "/api/v1/contact",
        json={"header": {"login": account["login"], "accessKey": account["accessKey"]},
              "contacts": [{"phone_number": "+33698765432", "firstname": "Ana"},
                           {"phone_number": "+33698765433", "firstname": "Bo"},
                           {"phone_number": "+33698765434", "firstname": "Cy"}]},
    )  # fmt: skip
    assert v1.status_code == 200
    # A contact deleted by contacts/delete (another area's endpoint) is only
    # marked: the same mark here.
    with server.engine.begin() as conn:
        conn.execute(
            update(contacts)
            .where(contacts.c.account_id == account["id"], contacts.c.firstname == "Cy")
            .values(deleted_at=utcnow())
        )

    body = ok(server.url, account, "stats/overview", date_from="", date_to="")
    assert body["date_from"] is None and body["date_to"] is None
    assert body["sms"] == {
        "sent": 2, "received": 2, "delivered": 1, "failed": 1, "pending": 1,
        "total_outbound": 4,
    }  # fmt: skip
    assert body["calls"] == {
        "incoming": 1, "outgoing": 1, "missed": 1, "qualified": 1, "total": 3
    }  # fmt: skip
    assert body["clicks"] == {"total": 2, "previews": 1}
    assert body["contacts"] == {"total": 2}

    week_ago = (utcnow() - timedelta(days=7)).strftime("%Y-%m-%d")
    recent = ok(server.url, account, "stats/overview", date_from=week_ago, date_to="")
    assert recent["date_from"] == week_ago
    assert recent["sms"]["received"] == 1 and recent["calls"]["total"] == 2
    assert recent["sms"]["total_outbound"] == 4
    old = ok(server.url, account, "stats/overview", date_from="", date_to=week_ago)
    assert old["sms"]["total_outbound"] == 0 and old["sms"]["received"] == 1
    assert old["calls"] == {"incoming": 0, "outgoing": 1, "missed": 0, "qualified": 0, "total": 1}
    assert old["clicks"]["total"] == 0 and old["contacts"]["total"] == 2

    # Another account sees none of it.
    acc, key = create_account(server.engine, f"s{utcnow().timestamp()}@example.com", "UTC", "FR")
    other = ok(server.url, {"login": acc.email, "accessKey": key}, "stats/overview")
    assert other["sms"]["total_outbound"] == 0 and other["contacts"]["total"] == 0
    assert other["clicks"]["total"] == 0 and other["calls"]["total"] == 0


def test_clicks_newest_first_without_previews(server: LiveServer, account: dict[str, Any]) -> None:
    results = send_with_links(server, account, 3)
    links = [short_link(server, account, r["sms_id"]) for r in results]
    for link in links:
        open_link(link)
    open_link(links[0], PREVIEW)
    body = ok(server.url, account, "stats/clicks", limit=10)
    clicks = body["clicks"]
    assert [c["sms_id"] for c in clicks] == [r["sms_id"] for r in reversed(results)]
    assert body["has_more"] is False and body["next_cursor"] is None
    newest = clicks[0]
    assert newest["phone_number"] == "+33612345602" and newest["url"] == "https://example.com/2"
    assert newest["user_agent"] == BROWSER and newest["is_preview"] is False
    assert isinstance(newest["date"], str) and isinstance(newest["id"], str)
    with_previews = ok(server.url, account, "stats/clicks", include_previews=True)["clicks"]
    assert len(with_previews) == 4 and with_previews[0]["is_preview"] is True

    page = ok(server.url, account, "stats/clicks", limit=2)
    assert page["has_more"] is True
    rest = ok(server.url, account, "stats/clicks", limit=2, cursor=page["next_cursor"])
    assert [c["id"] for c in page["clicks"] + rest["clicks"]] == [c["id"] for c in clicks]


@pytest.mark.parametrize(
    ("endpoint", "fields", "field"),
    [
        ("stats/overview", {"date_from": "last week"}, "date_from"),
        ("stats/overview", {"date_to": "2026-02-30"}, "date_to"),
        ("stats/overview", {"date_from": 20260101}, "date_from"),
        ("stats/clicks", {"limit": 0}, "limit"),
        ("stats/clicks", {"limit": True}, "limit"),
        ("stats/clicks", {"include_previews": "yes"}, "include_previews"),
        ("stats/clicks", {"cursor": "e30"}, "cursor"),
    ],
)
def test_validation(
    server: LiveServer, account: dict[str, Any], endpoint: str, fields: Any, field: str
) -> None:
    body = refused(server.url, account, endpoint, 422, "VALIDATION_ERROR", **fields)
    assert body["field"] == field


@pytest.mark.client_side
def test_official_client_stats(server: LiveServer, account: dict[str, Any], tmp_path: Path) -> None:
    results = send_with_links(server, account, 1)
    open_link(short_link(server, account, results[0]["sms_id"]))
    overview = insim_json(server.url, account, "stats", "overview", home=tmp_path)
    assert overview["sms"]["total_outbound"] == 1 and overview["clicks"]["total"] == 1
    clicks = insim_json(server.url, account, "stats", "clicks", "--limit", "5", home=tmp_path)
    assert clicks["clicks"][0]["sms_id"] == results[0]["sms_id"]
    for args in (
        ("stats", "overview"),
        ("stats", "overview", "--from", "2020-01-01", "--to", "2099-12-31"),
        ("stats", "clicks"),
    ):
        done = insim(server.url, account, *args, home=tmp_path, json_mode=False)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (args, done)
        assert "success: True" in done.stdout
    shown = insim(server.url, account, "stats", "clicks", home=tmp_path, json_mode=False).stdout
    assert "https://example.com/0" in shown
    bad = insim(server.url, account, "stats", "overview", "--from", "soon", home=tmp_path,
                json_mode=False)  # fmt: skip
    assert bad.returncode == 1 and "Field: date_from" in bad.stderr


@settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    endpoint=st.sampled_from(["stats/overview", "stats/clicks"]),
    fields=st.fixed_dictionaries(
        {},
        optional={
            "date_from": st.text(max_size=25) | st.sampled_from(["", "2026-01-01"]) | st.none(),
            "date_to": st.text(max_size=25) | st.integers() | st.booleans(),
            "limit": st.integers(-5, 200) | st.text(max_size=3) | st.none(),
            "cursor": st.text(max_size=30) | st.integers(),
        },
    ),
)
def test_fields_never_break_the_answer(
    shared_server: LiveServer, shared_account: dict[str, Any], endpoint: str, fields: Any
) -> None:
    response = http_client.post(
        f"{shared_server.url}/api/v2/{endpoint}",
        json={"login": shared_account["login"], "accessKey": shared_account["accessKey"],
              **fields},
        timeout=30,
    )  # fmt: skip
    body = response.json()
    if body["success"] is not True:
        assert response.status_code == 422 and body["error_code"] == "VALIDATION_ERROR", body
        assert body["field"] in fields, body
