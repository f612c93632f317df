"""v2 lists: CRUD, adding and removing members, add all; over HTTP and through
the official client, on both stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simgate.services.contacts import upsert_contacts
from simgate.store.accounts import Account
from tests.support.servers import LiveServer
from tests.support.v2 import call, insim, insim_json, ok, other_account, refused

LIST_KEYS = {"id", "list_id", "name", "description", "contacts", "created", "updated"}


def add_contacts(server: LiveServer, account: dict[str, Any], count: int) -> list[str]:
    """`count` contacts; their ids, oldest first."""
    acc = Account(account["id"], account["login"], "Europe/Paris", "FR")
    items = [
        {"firstname": f"P{i}", "lastname": "Test", "phone_number": f"06123400{i:02d}"}
        for i in range(count)
    ]
    upsert_contacts(server.engine, acc, items)
    listed = ok(server.url, account, "contacts", limit=100, sort="date_add", order="asc")
    return [c["id"] for c in listed["contacts"]]


def check_list(found: dict[str, Any]) -> None:
    assert LIST_KEYS <= set(found), found
    assert isinstance(found["id"], str) and found["id"] == found["list_id"]
    assert isinstance(found["contacts"], int) and isinstance(found["created"], str)
    assert isinstance(found["name"], str) and isinstance(found["description"], str)


def test_create_detail_update_delete(server: LiveServer, account: dict[str, Any]) -> None:
    created = ok(server.url, account, "lists/create", name=" VIP ", description="best")
    list_id = created["list_id"]
    check_list(created["list"])
    assert created["list"]["name"] == "VIP" and created["list"]["contacts"] == 0
    listed = ok(server.url, account, "lists")
    assert [item["list_id"] for item in listed["lists"]] == [list_id]
    assert listed["has_more"] is False and listed["next_cursor"] is None
    # "" leaves a field as it is (the client always sends both).
    updated = ok(server.url, account, "lists/update", list_id=list_id, name="", description="")
    assert (updated["list"]["name"], updated["list"]["description"]) == ("VIP", "best")
    updated = ok(server.url, account, "lists/update", list_id=list_id, name="Gold", description="")
    assert (updated["list"]["name"], updated["list"]["description"]) == ("Gold", "best")
    detail = ok(server.url, account, "lists/detail", list_id=list_id)
    check_list(detail["list"])
    assert detail["contacts"] == [] and detail["has_more"] is False
    assert ok(server.url, account, "lists/delete", list_id=list_id)["deleted"] is True
    assert ok(server.url, account, "lists")["lists"] == []
    refused(server.url, account, "lists/detail", 404, "NOT_FOUND", list_id=list_id)


def test_members_add_remove_and_counts(server: LiveServer, account: dict[str, Any]) -> None:
    ids = add_contacts(server, account, 4)
    list_id = ok(server.url, account, "lists/create", name="L")["list_id"]
    stranger = other_account(server)
    theirs = add_contacts(server, stranger, 1)[0]
    body = ok(
        server.url,
        account,
        "lists/contacts/add",
        list_id=list_id,
        contact_ids=[ids[0], ids[1], ids[1], theirs, "999999", "x-1", "99999999999"],
    )
    assert body["added"] == [ids[0], ids[1]]
    assert body["skipped"] == []
    assert body["not_found"] == [theirs, "999999", "x-1", "99999999999"]
    assert body["contacts"] == 2
    again = ok(server.url, account, "lists/contacts/add", list_id=list_id, contact_ids=[ids[0]])
    assert again["added"] == [] and again["skipped"] == [ids[0]]
    detail = ok(server.url, account, "lists/detail", list_id=list_id, limit=1)
    assert [c["id"] for c in detail["contacts"]] == [ids[0]] and detail["has_more"] is True
    assert detail["contacts"][0]["tags"] == []
    # A soft-deleted member leaves every count and answer.
    ok(server.url, account, "contacts/delete", id_contact=ids[0])
    assert ok(server.url, account, "lists")["lists"][0]["contacts"] == 1
    detail = ok(server.url, account, "lists/detail", list_id=list_id)
    assert [c["id"] for c in detail["contacts"]] == [ids[1]]
    contact = ok(server.url, account, "contacts/detail", id_contact=ids[1])
    assert contact["lists"] == [{"id": list_id, "list_id": list_id, "name": "L"}]
    removed = ok(
        server.url,
        account,
        "lists/contacts/remove",
        list_id=list_id,
        contact_ids=[ids[1], ids[2], "0"],
    )
    assert removed["removed"] == [ids[1]] and removed["skipped"] == [ids[2]]
    assert removed["not_found"] == ["0"] and removed["contacts"] == 0


def test_add_all(server: LiveServer, account: dict[str, Any]) -> None:
    ids = add_contacts(server, account, 5)
    list_id = ok(server.url, account, "lists/create", name="all")["list_id"]
    ok(server.url, account, "lists/contacts/add", list_id=list_id, contact_ids=[ids[0]])
    ok(server.url, account, "contacts/delete", id_contact=ids[4])
    body = ok(server.url, account, "lists/contacts/addall", list_id=list_id)
    assert (body["added"], body["skipped"], body["total"]) == (3, 1, 4)
    body = ok(server.url, account, "lists/contacts/addall", list_id=list_id)
    assert (body["added"], body["skipped"], body["total"]) == (0, 4, 4)
    assert ok(server.url, account, "lists/detail", list_id=list_id)["list"]["contacts"] == 4


def test_lists_page_with_a_cursor(server: LiveServer, account: dict[str, Any]) -> None:
    made = [ok(server.url, account, "lists/create", name=f"L{i}")["list_id"] for i in range(3)]
    first = ok(server.url, account, "lists", limit=2)
    assert first["has_more"] is True
    second = ok(server.url, account, "lists", limit=2, cursor=first["next_cursor"])
    got = [x["list_id"] for x in first["lists"] + second["lists"]]
    assert got == made[::-1] and second["next_cursor"] is None


@pytest.mark.parametrize(
    "endpoint",
    [
        "lists/detail",
        "lists/update",
        "lists/delete",
        "lists/contacts/add",
        "lists/contacts/remove",
        "lists/contacts/addall",
    ],
)
def test_unknown_or_foreign_list_is_not_found(
    server: LiveServer, account: dict[str, Any], endpoint: str
) -> None:
    theirs = ok(server.url, other_account(server), "lists/create", name="theirs")["list_id"]
    for bad in (theirs, "999999", "99999999999", "abc"):
        body = refused(server.url, account, endpoint, 404, "NOT_FOUND", list_id=bad, contact_ids=[])
        assert body["field"] == "list_id"
    body = refused(server.url, account, endpoint, 422, "MISSING_FIELD", contact_ids=[])
    assert body["field"] == "list_id"


@pytest.mark.parametrize(
    ("endpoint", "fields", "code", "field"),
    [
        ("lists/create", {}, "MISSING_FIELD", "name"),
        ("lists/create", {"name": "  "}, "MISSING_FIELD", "name"),
        ("lists/create", {"name": "x" * 201}, "VALIDATION_ERROR", "name"),
        ("lists/create", {"name": "a", "description": 3}, "VALIDATION_ERROR", "description"),
        ("lists/update", {"name": ["a"]}, "VALIDATION_ERROR", "name"),
        ("lists/detail", {"limit": 0}, "VALIDATION_ERROR", "limit"),
        ("lists/contacts/add", {}, "MISSING_FIELD", "contact_ids"),
        ("lists/contacts/add", {"contact_ids": "1"}, "VALIDATION_ERROR", "contact_ids"),
        ("lists/contacts/add", {"contact_ids": [{"a": 1}]}, "VALIDATION_ERROR", "contact_ids"),
        ("lists/contacts/remove", {"contact_ids": [True]}, "VALIDATION_ERROR", "contact_ids"),
        ("lists", {"cursor": "zzz"}, "VALIDATION_ERROR", "cursor"),
    ],
)
def test_bad_fields(
    server: LiveServer,
    account: dict[str, Any],
    endpoint: str,
    fields: dict[str, Any],
    code: str,
    field: str,
) -> None:
    list_id = ok(server.url, account, "lists/create", name="L")["list_id"]
    body = refused(server.url, account, endpoint, 422, code, list_id=list_id, **fields)
    assert body["field"] == field


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    ids=st.one_of(
        st.none(),
        st.text(max_size=5),
        st.lists(
            st.one_of(
                st.text(max_size=20),
                st.integers(),
                st.none(),
                st.floats(allow_nan=False, allow_infinity=False),  # JSON has no NaN
            ),
            max_size=5,
        ),
    ),
    name=st.one_of(st.none(), st.text(max_size=30), st.integers()),
)
def test_list_inputs_never_crash(
    server: LiveServer, account: dict[str, Any], ids: Any, name: Any
) -> None:
    list_id = ok(server.url, account, "lists/create", name="L")["list_id"]
    response = call(server.url, account, "lists/contacts/add", list_id=list_id, contact_ids=ids)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        body = response.json()
        assert body["added"] == [] and len(body["not_found"]) <= len(ids)
    response = call(server.url, account, "lists/update", list_id=list_id, name=name)
    assert response.status_code in (200, 422), response.text


@pytest.mark.client_side
def test_official_client_lists_commands(
    server: LiveServer, account: dict[str, Any], tmp_path: Path
) -> None:
    ids = add_contacts(server, account, 3)
    human = insim(server.url, account, "lists", "list", home=tmp_path, json_mode=False)
    assert human.returncode == 0 and "(empty)" in human.stdout, human.stdout
    made = insim(
        server.url,
        account,
        "lists",
        "create",
        "Clients",
        "--desc",
        "d",
        home=tmp_path,
        json_mode=False,
    )
    assert made.returncode == 0 and "List 'Clients' created" in made.stdout
    created = insim_json(server.url, account, "lists", "create", "Prospects", home=tmp_path)
    list_id = created["list_id"]
    assert isinstance(list_id, str) and created["list"]["contacts"] == 0

    added = insim(
        server.url,
        account,
        "lists",
        "add-contacts",
        list_id,
        ids[0],
        ids[1],
        home=tmp_path,
        json_mode=False,
    )
    assert added.returncode == 0 and "Added 2 contact(s)" in added.stdout
    body = insim_json(server.url, account, "lists", "add-contacts", list_id, ids[2], home=tmp_path)
    assert body["added"] == [ids[2]] and body["contacts"] == 3
    listed = insim_json(server.url, account, "lists", "list", home=tmp_path)
    counts = {item["name"]: item["contacts"] for item in listed["lists"]}
    assert counts == {"Clients": 0, "Prospects": 3}
    assert all(isinstance(item["created"], str) for item in listed["lists"])
    human = insim(server.url, account, "lists", "list", home=tmp_path, json_mode=False)
    assert human.returncode == 0 and "Prospects" in human.stdout and "3" in human.stdout

    detail = insim_json(
        server.url, account, "lists", "detail", list_id, "--limit", "2", home=tmp_path
    )
    assert len(detail["contacts"]) == 2 and detail["list"]["contacts"] == 3
    human = insim(server.url, account, "lists", "detail", list_id, home=tmp_path, json_mode=False)
    assert human.returncode == 0 and "Prospects" in human.stdout

    renamed = insim(
        server.url,
        account,
        "lists",
        "update",
        list_id,
        "--name",
        "Leads",
        home=tmp_path,
        json_mode=False,
    )
    assert renamed.returncode == 0 and "List updated" in renamed.stdout
    body = insim_json(
        server.url, account, "lists", "update", list_id, "--desc", "new", home=tmp_path
    )
    assert (body["list"]["name"], body["list"]["description"]) == ("Leads", "new")

    removed = insim(
        server.url,
        account,
        "lists",
        "remove-contacts",
        list_id,
        ids[0],
        home=tmp_path,
        json_mode=False,
    )
    assert removed.returncode == 0 and "Removed 1 contact(s)" in removed.stdout
    everyone = insim(
        server.url, account, "lists", "add-all", list_id, home=tmp_path, json_mode=False
    )
    assert everyone.returncode == 0 and "All contacts added" in everyone.stdout
    body = insim_json(server.url, account, "lists", "add-all", list_id, home=tmp_path)
    assert (body["added"], body["skipped"], body["total"]) == (0, 3, 3)

    gone = insim(
        server.url, account, "lists", "delete", list_id, "--confirm", home=tmp_path, json_mode=False
    )
    assert gone.returncode == 0 and "List deleted" in gone.stdout
    missing = insim(server.url, account, "lists", "detail", list_id, home=tmp_path, json_mode=False)
    assert missing.returncode == 1 and "Error [NOT_FOUND]" in missing.stderr
    assert "Field: list_id" in missing.stderr
