"""POST /api/v1/contact: upsert per (account, E.164 number), codes #001-#004."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from sqlalchemy import select

from simgate.services.accounts import create_account
from simgate.store.tables import contacts
from tests.support.servers import LiveServer

SUCCESS_KEYS = ["firstname", "lastname", "phonenumber", "adress", "email", "result"]
FAILED_KEYS = ["first_name", "last_name", "phone_number", "adress", "email", "result", "errors"]


@pytest.fixture
def server(shared_server: LiveServer) -> LiveServer:
    return shared_server  # one server per store for the module: each test has its own account


@pytest.fixture
def account(shared_account: dict[str, Any]) -> dict[str, Any]:
    return shared_account


def post(server: LiveServer, account: dict[str, Any], *items: Any, path: str = "contact") -> Any:
    body = {
        "header": {"login": account["login"], "accessKey": account["accessKey"]},
        "contacts": list(items),
    }
    response = server.post(f"/api/v1/{path}", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert list(answer) == ["data"] and list(answer["data"]) == ["contact"]
    return answer["data"]["contact"]


def rows(server: LiveServer, *owners: dict[str, Any]) -> list[Any]:
    ids = [owner["id"] for owner in owners]
    with server.engine.connect() as conn:
        return list(
            conn.execute(
                select(contacts).where(contacts.c.account_id.in_(ids)).order_by(contacts.c.id)
            )
        )


def test_reference_example(server: LiveServer, account: dict[str, Any]) -> None:
    answer = post(
        server,
        account,
        {
            "firstname": "John",
            "lastname": "Doe",
            "phone_number": "+33612345678",
            "adress": "",
            "email": "",
        },
        {
            "firstname": "Jane",
            "lastname": "Smith",
            "phone_number": "+33698765432",
            "adress": "123 Peace Street, Paris",
            "email": "jane.smith@example.com",
        },
    )
    assert answer == [
        {
            "firstname": "John",
            "lastname": "Doe",
            "phonenumber": "+33612345678",
            "adress": "",
            "email": "",
            "result": "success",
        },
        {
            "firstname": "Jane",
            "lastname": "Smith",
            "phonenumber": "+33698765432",
            "adress": "123 Peace Street, Paris",
            "email": "jane.smith@example.com",
            "result": "success",
        },
    ]
    assert [list(a) for a in answer] == [SUCCESS_KEYS, SUCCESS_KEYS]
    stored = rows(server, account)
    assert [(r.firstname, r.phone_number, r.address) for r in stored] == [
        ("John", "+33612345678", ""),
        ("Jane", "+33698765432", "123 Peace Street, Paris"),
    ]


def test_reference_error_example(server: LiveServer, account: dict[str, Any]) -> None:
    answer = post(
        server,
        account,
        {
            "firstname": "John",
            "lastname": "Doe",
            "phone_number": "+33INVALID",
            "adress": "",
            "email": "",
        },
    )
    assert answer == [
        {
            "first_name": "John",
            "last_name": "Doe",
            "phone_number": "+33INVALID",
            "adress": "",
            "email": "",
            "result": "failed",
            "errors": ["#001"],
        }
    ]
    assert list(answer[0]) == FAILED_KEYS
    assert rows(server, account) == []


def test_upsert_per_number(server: LiveServer, account: dict[str, Any]) -> None:
    post(server, account, {"firstname": "Old", "lastname": "Name", "phone_number": "+33612345678"})
    # The same number, written nationally: the same contact, updated.
    answer = post(
        server,
        account,
        {
            "firstname": "New",
            "lastname": "Name",
            "phone_number": "06 12 34 56 78",
            "email": "n@example.com",
        },
    )
    assert answer[0]["phonenumber"] == "+33612345678"
    stored = rows(server, account)
    assert len(stored) == 1
    assert (stored[0].firstname, stored[0].email) == ("New", "n@example.com")
    assert stored[0].updated_at >= stored[0].created_at


def test_same_number_twice_in_a_batch_last_wins(
    server: LiveServer, account: dict[str, Any]
) -> None:
    answer = post(
        server,
        account,
        {"firstname": "A", "phone_number": "+33612345678"},
        {"firstname": "B", "phone_number": "+33612345678"},
    )
    assert [a["result"] for a in answer] == ["success", "success"]
    assert [r.firstname for r in rows(server, account)] == ["B"]


def test_contacts_are_per_account(server: LiveServer, account: dict[str, Any]) -> None:
    acc, key = create_account(server.engine, f"{secrets.token_hex(5)}@example.com")
    other = {"login": acc.email, "accessKey": key, "id": acc.id}
    post(server, account, {"firstname": "Mine", "phone_number": "+33612345678"})
    post(server, other, {"firstname": "Theirs", "phone_number": "+33612345678"})
    assert [r.firstname for r in rows(server, account)] == ["Mine"]
    assert sorted(r.firstname for r in rows(server, account, other)) == ["Mine", "Theirs"]


def test_codes(server: LiveServer, account: dict[str, Any]) -> None:
    answer = post(
        server,
        account,
        {"firstname": "Bad", "phone_number": "12"},
        {"firstname": "Empty", "phone_number": ""},
        {"firstname": "Null", "phone_number": None},
        {"firstname": "Missing", "lastname": "Number"},
        "not an object",
        {"firstname": "Warn", "phone_number": "+33698765432", "email": "not-an-email"},
    )
    assert [a["result"] for a in answer] == ["failed"] * 5 + ["success"]
    assert [a["errors"] for a in answer] == [
        ["#001"],
        ["#002"],
        ["#002"],
        ["#003"],
        ["#003"],
        ["#004"],
    ]
    for item in answer[:5]:
        assert list(item) == FAILED_KEYS
    # #004 is a warning: the contact is stored anyway.
    assert answer[5]["phonenumber"] == "+33698765432"
    assert [(r.firstname, r.email) for r in rows(server, account)] == [("Warn", "not-an-email")]


def test_other_spellings_are_read(server: LiveServer, account: dict[str, Any]) -> None:
    answer = post(
        server,
        account,
        {
            "first_name": "Ann",
            "last_name": "Lee",
            "phonenumber": "+33612345678",
            "address": "1 Main St",
        },
        path="contact.php",
    )
    assert answer == [
        {
            "firstname": "Ann",
            "lastname": "Lee",
            "phonenumber": "+33612345678",
            "adress": "1 Main St",
            "email": "",
            "result": "success",
        }
    ]
    assert rows(server, account)[0].address == "1 Main St"


def test_empty_list(server: LiveServer, account: dict[str, Any]) -> None:
    assert post(server, account) == []
