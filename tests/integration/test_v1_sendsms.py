"""POST /api/v1/sendsms on a real server, on SQLite and PostgreSQL (DESIGN.md section 3)."""

from __future__ import annotations

import re
import secrets
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from simgate.services.accounts import create_account
from simgate.store.tables import messages
from tests.support.servers import LiveServer

FIELDS = ["id_sms_api", "sms_per_message", "user", "sent_time", "phone_number", "message", "sent"]
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture
def server(shared_server: LiveServer) -> LiveServer:
    return shared_server  # one server per store for the module: each test has its own account


@pytest.fixture
def account(shared_account: dict[str, Any]) -> dict[str, Any]:
    return shared_account


def send(server: LiveServer, account: dict[str, Any], *items: Any, path: str = "sendsms") -> Any:
    body = {"header": {"login": account["login"], "accessKey": account["accessKey"]}}
    response = server.post(f"/api/v1/{path}", json={**body, "messages": list(items)})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def rows(server: LiveServer, account: dict[str, Any]) -> list[Any]:
    with server.engine.connect() as conn:
        return list(
            conn.execute(
                select(messages)
                .where(messages.c.account_id == account["id"])
                .order_by(messages.c.id)
            )
        )


def count(server: LiveServer, account: dict[str, Any]) -> int:
    with server.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(messages)
                .where(messages.c.account_id == account["id"])
            ).scalar_one()
        )


def test_reference_request(server: LiveServer, account: dict[str, Any]) -> None:
    answer = send(
        server,
        account,
        {
            "phone_number": "+33612345678",
            "message": "Hello from InSim API [Lien_Tracking]",
            "url": "https://example.com/",
            "priorite": 1,
            "date_to_send": "2025-10-29 10:16:10",
        },
        {
            "phone_number": "+33698765432",
            "message": "Test from API",
            "url": "",
            "priorite": 1,
            "date_to_send": "2025-10-29 10:16:10",
        },
    )
    assert isinstance(answer, list) and len(answer) == 2
    for item in answer:
        assert list(item) == FIELDS
        assert item["sent"] == 1 and item["user"] == account["login"]
        assert ISO_Z.match(item["sent_time"])
        assert re.fullmatch(r"[0-9A-Za-z]{15}", item["id_sms_api"])
        assert item["sms_per_message"] == 1
    first, second = answer
    link = re.fullmatch(
        rf"Hello from InSim API {re.escape(server.url)}/([0-9A-Za-z]{{10,}})", first["message"]
    )
    assert link, first["message"]
    assert second["message"] == "Test from API"
    assert [first["phone_number"], second["phone_number"]] == ["+33612345678", "+33698765432"]
    stored = rows(server, account)
    assert [r.id_sms_api for r in stored] == [first["id_sms_api"], second["id_sms_api"]]
    # The date is in the past: the messages go now.
    assert all(r.state == "queued" for r in stored)
    assert stored[0].short_code == link.group(1) and stored[0].url == "https://example.com/"
    assert stored[1].short_code is None and stored[1].url is None
    assert stored[0].message == first["message"]


def test_php_alias(server: LiveServer, account: dict[str, Any]) -> None:
    answer = send(
        server, account, {"phone_number": "+33612345678", "message": "hi"}, path="sendsms.php"
    )
    assert answer[0]["sent"] == 1 and count(server, account) == 1


def test_priorite_and_priority(server: LiveServer, account: dict[str, Any]) -> None:
    send(
        server,
        account,
        {"phone_number": "+33612345678", "message": "a", "priorite": 3},
        {"phone_number": "+33612345678", "message": "b", "priority": 7},
        {"phone_number": "+33612345678", "message": "c"},
    )
    assert [r.priority for r in rows(server, account)] == [3, 7, 1]


def test_placeholders_and_urls(server: LiveServer, account: dict[str, Any]) -> None:
    url = "https://shop.example/offer?id=1"
    answer = send(
        server,
        account,
        {"phone_number": "+33612345678", "message": "A [Lien_Tracking] end", "url": url},
        {"phone_number": "+33612345678", "message": "B [link]", "url": url},
        {"phone_number": "+33612345678", "message": "C no placeholder", "url": url},
        {"phone_number": "+33612345678", "message": "D [link] gone", "url": ""},
        {"phone_number": "+33612345678", "message": "E [Lien_Tracking]"},
    )
    base = re.escape(server.url)
    assert re.fullmatch(rf"A {base}/\w{{10,}} end", answer[0]["message"])
    assert re.fullmatch(rf"B {base}/\w{{10,}}", answer[1]["message"])
    assert re.fullmatch(rf"C no placeholder {base}/\w{{10,}}", answer[2]["message"])
    assert answer[3]["message"] == "D gone"
    assert answer[4]["message"] == "E"
    codes = [r.short_code for r in rows(server, account)]
    assert len(set(codes[:3])) == 3 and codes[3:] == [None, None]


def test_public_url_is_the_base_of_links(settings: Any) -> None:
    from simgate.services.accounts import create_account

    with LiveServer(settings, public_url="https://s.example.com/") as server:
        _, key = create_account(server.engine, "p@example.com")
        account = {"login": "p@example.com", "accessKey": key}
        answer = send(
            server,
            account,
            {"phone_number": "+33612345678", "message": "x", "url": "https://e.com/"},
        )
    assert re.fullmatch(r"x https://s\.example\.com/\w{10,}", answer[0]["message"])


def test_date_to_send_local_iso_and_past(server: LiveServer, account: dict[str, Any]) -> None:
    send(
        server,
        account,
        # Paris is UTC+1 in January, UTC+2 in July.
        {"phone_number": "+33612345678", "message": "a", "date_to_send": "2099-01-15 10:00:00"},
        {"phone_number": "+33612345678", "message": "b", "date_to_send": "2099-07-15 10:00:00"},
        {
            "phone_number": "+33612345678",
            "message": "c",
            "date_to_send": "2099-04-01T10:16:10.123456",
        },
        {"phone_number": "+33612345678", "message": "d", "date_to_send": "2099-04-01T10:16:10Z"},
        {
            "phone_number": "+33612345678",
            "message": "e",
            "date_to_send": "2099-04-01T10:16:10+05:00",
        },
        {"phone_number": "+33612345678", "message": "f", "date_to_send": "2020-01-01 00:00:00"},
        {"phone_number": "+33612345678", "message": "g", "date_to_send": ""},
    )
    stored = rows(server, account)
    assert [r.send_at for r in stored[:5]] == [
        datetime(2099, 1, 15, 9, 0),
        datetime(2099, 7, 15, 8, 0),
        datetime(2099, 4, 1, 8, 16, 10, 123456),
        datetime(2099, 4, 1, 10, 16, 10),
        datetime(2099, 4, 1, 5, 16, 10),
    ]
    assert [r.state for r in stored] == ["scheduled"] * 5 + ["queued"] * 2
    for r in stored[5:]:  # past or empty: now
        assert abs(r.send_at - r.created_at) < timedelta(seconds=1)


def test_account_time_zone_and_region(server: LiveServer) -> None:
    acc, key = create_account(
        server.engine, f"ny-{secrets.token_hex(4)}@example.com", "America/New_York", "US"
    )
    account = {"login": acc.email, "accessKey": key, "id": acc.id}
    answer = send(
        server,
        account,
        {
            "phone_number": "(201) 555-0123",
            "message": "x",
            "date_to_send": "2099-01-15 10:00:00",
        },
        {"phone_number": "0612345678", "message": "national FR is not US"},
    )
    stored = rows(server, account)
    assert answer[0]["phone_number"] == "+12015550123" and answer[0]["sent"] == 1
    assert stored[0].send_at == datetime(2099, 1, 15, 15, 0)
    assert answer[1]["sent"] == 0 and answer[1]["errors"] == ["#001"]


def test_national_number_in_account_region(server: LiveServer, account: dict[str, Any]) -> None:
    answer = send(server, account, {"phone_number": "06 12 34 56 78", "message": "x"})
    assert answer[0]["phone_number"] == "+33612345678"


def test_sms_per_message(server: LiveServer, account: dict[str, Any]) -> None:
    answer = send(
        server,
        account,
        {"phone_number": "+33612345678", "message": "a" * 160},
        {"phone_number": "+33612345678", "message": "a" * 161},
        {"phone_number": "+33612345678", "message": "€" * 80},
        {"phone_number": "+33612345678", "message": "€" * 81},
        {"phone_number": "+33612345678", "message": "ç" * 70},
        {"phone_number": "+33612345678", "message": "😀" * 35 + "a"},
    )
    assert [a["sms_per_message"] for a in answer] == [1, 2, 1, 2, 1, 2]
    assert [r.encoding for r in rows(server, account)] == ["GSM-7"] * 4 + ["UCS-2"] * 2


def test_each_message_judged_alone(server: LiveServer, account: dict[str, Any]) -> None:
    answer = send(
        server,
        account,
        {"phone_number": "+33612345678", "message": "good one"},
        {"phone_number": "+33INVALID", "message": "bad number"},
        {"phone_number": "", "message": "empty number"},
        {"phone_number": "+33612345678", "message": ""},
        {"phone_number": "+33612345678", "message": "x", "date_to_send": "soon"},
        {"phone_number": "+33612345678", "message": "x", "priorite": "high"},
        {"phone_number": "+33612345678", "message": "x", "url": "not a url"},
        {"phone_number": "+33612345678", "message": "x", "id_sms_api": "bad id!"},
        "not an object",
        {"phone_number": "+33698765432", "message": "good two"},
    )
    assert [a["sent"] for a in answer] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    assert [a.get("errors") for a in answer] == [
        None,
        ["#001"],
        ["#002"],
        ["#003"],
        ["#004"],
        ["#005"],
        ["#006"],
        ["#008"],
        ["#009"],
        None,
    ]
    for item in answer:
        expected = FIELDS + (["errors"] if item["sent"] == 0 else [])
        assert list(item) == expected
    assert answer[1]["phone_number"] == "+33INVALID" and answer[1]["message"] == "bad number"
    assert (answer[8]["phone_number"], answer[8]["message"]) == ("", "")
    assert [r.message for r in rows(server, account)] == ["good one", "good two"]


def test_repeat_returns_the_stored_answer(server: LiveServer, account: dict[str, Any]) -> None:
    item = {
        "phone_number": "+33612345678",
        "message": "Hi [link]",
        "url": "https://e.com/",
        "id_sms_api": "order-1001",
    }
    first = send(server, account, item)
    again = send(server, account, item)
    assert first == again
    assert first[0]["id_sms_api"] == "order-1001" and first[0]["sent"] == 1
    assert count(server, account) == 1


def test_same_id_other_content_is_007_for_that_message_only(
    server: LiveServer, account: dict[str, Any]
) -> None:
    send(server, account, {"phone_number": "+33612345678", "message": "v1", "id_sms_api": "A1"})
    answer = send(
        server,
        account,
        {"phone_number": "+33612345678", "message": "neighbour"},
        {"phone_number": "+33612345678", "message": "v2", "id_sms_api": "A1"},
        {"phone_number": "+33612345678", "message": "new", "id_sms_api": "A2"},
    )
    assert [a["sent"] for a in answer] == [1, 0, 1]
    assert answer[1]["errors"] == ["#007"] and answer[1]["id_sms_api"] == "A1"
    assert [r.message for r in rows(server, account)] == ["v1", "neighbour", "new"]


def test_repeat_within_one_batch(server: LiveServer, account: dict[str, Any]) -> None:
    item = {
        "phone_number": "+33612345678",
        "message": "x [link]",
        "url": "https://e.com/",
        "id_sms_api": "dup",
    }
    answer = send(server, account, item, item, {**item, "message": "other"})
    assert answer[0] == answer[1]
    assert answer[2]["sent"] == 0 and answer[2]["errors"] == ["#007"]
    assert count(server, account) == 1


def test_ids_are_per_account(server: LiveServer, account: dict[str, Any]) -> None:
    acc, key = create_account(server.engine, f"{secrets.token_hex(5)}@example.com")
    other = {"login": acc.email, "accessKey": key, "id": acc.id}
    item = {"phone_number": "+33612345678", "message": "x", "id_sms_api": "shared-id"}
    assert send(server, account, item)[0]["sent"] == 1
    assert send(server, other, {**item, "message": "y"})[0]["sent"] == 1
    assert count(server, account) == count(server, other) == 1


@pytest.mark.parametrize("threads", [8])
def test_concurrent_repeats_store_one_row(
    server: LiveServer, account: dict[str, Any], threads: int
) -> None:
    items = [
        {
            "phone_number": "+33612345678",
            "message": f"m{i}",
            "url": "https://e.com/",
            "id_sms_api": f"race-{i}",
        }
        for i in range(20)
    ]
    barrier = threading.Barrier(threads)
    answers: list[Any] = [None] * threads

    def post(n: int) -> None:
        barrier.wait()
        answers[n] = send(server, account, *items)

    workers = [threading.Thread(target=post, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    assert all(a == answers[0] for a in answers)
    assert all(item["sent"] == 1 for item in answers[0])
    assert count(server, account) == 20


def test_empty_batch(server: LiveServer, account: dict[str, Any]) -> None:
    assert send(server, account) == []
    assert count(server, account) == 0
