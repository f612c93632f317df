"""v2 contacts: list, search, find_contact, detail, switch_pro, delete, tags and
custom fields, over HTTP and through the official client, on both stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simgate.domain import cursors
from simgate.services import contact_book
from simgate.services.contacts import upsert_contacts
from simgate.store.accounts import Account
from tests.support.servers import LiveServer
from tests.support.v2 import call, insim, insim_json, ok, other_account, refused

PEOPLE = [
    ("Cécile", "Dubois", "0612345678"),
    ("Jean", "Martin", "0611111111"),
    ("Jeanne", "Dupont", "0622222222"),
    ("Marc", "Durand", "0633333333"),
    ("Émilie", "Lefèvre", "0644444444"),
]

CONTACT_KEYS = {
    "id",
    "id_contact",
    "firstname",
    "lastname",
    "phone_number",
    "email",
    "address",
    "pro",
    "tags",
    "custom",
    "created",
    "updated",
}


def owner(server: LiveServer, account: dict[str, Any]) -> Account:
    return Account(account["id"], account["login"], "Europe/Paris", "FR")


def add_people(
    server: LiveServer, account: dict[str, Any], people: list[tuple[str, str, str]] = PEOPLE
) -> dict[str, str]:
    """Upsert `people` (as v1 does); their ids by last name."""
    items = [
        {"firstname": f, "lastname": last, "phone_number": p, "email": f"{f.lower()}@ex.com"}
        for f, last, p in people
    ]
    upsert_contacts(server.engine, owner(server, account), items)
    listed = ok(server.url, account, "contacts", limit=100)["contacts"]
    return {c["lastname"]: c["id"] for c in listed}


def check_contact(contact: dict[str, Any]) -> None:
    assert CONTACT_KEYS <= set(contact), contact
    assert isinstance(contact["id"], str) and contact["id"] == contact["id_contact"]
    for key in ("firstname", "lastname", "phone_number", "email", "address", "created"):
        assert isinstance(contact[key], str), (key, contact)
    assert isinstance(contact["pro"], bool)
    assert isinstance(contact["tags"], list) and all(isinstance(t, str) for t in contact["tags"])
    assert isinstance(contact["custom"], dict)


# -- contacts (list) -------------------------------------------------------------


def test_list_pages_with_a_keyset_cursor(server: LiveServer, account: dict[str, Any]) -> None:
    add_people(server, account)
    seen: list[str] = []
    cursor = ""
    for _ in range(5):
        body = ok(
            server.url, account, "contacts", limit=2, sort="lastname", order="asc", cursor=cursor
        )
        for contact in body["contacts"]:
            check_contact(contact)
        seen += [c["lastname"] for c in body["contacts"]]
        assert isinstance(body["has_more"], bool)
        if not body["has_more"]:
            assert body["next_cursor"] is None
            break
        cursor = body["next_cursor"]
    assert seen == ["Dubois", "Dupont", "Durand", "Lefèvre", "Martin"]
    newest = ok(server.url, account, "contacts", limit=100)["contacts"]
    assert [c["lastname"] for c in newest][0] == "Lefèvre"  # date_add, newest first
    desc = ok(server.url, account, "contacts", sort="firstname", order="desc")["contacts"]
    # First names sort folded: "Émilie" among the E.
    assert [c["firstname"] for c in desc] == ["Marc", "Jeanne", "Jean", "Émilie", "Cécile"]


def test_list_search_folds_accents(server: LiveServer, account: dict[str, Any]) -> None:
    add_people(server, account)
    found = ok(server.url, account, "contacts", search="CECILE")["contacts"]
    assert [c["lastname"] for c in found] == ["Dubois"]
    by_number = ok(server.url, account, "contacts", search="0622")["contacts"]
    assert [c["lastname"] for c in by_number] == ["Dupont"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"sort": "age"}, "sort"),
        ({"order": "up"}, "order"),
        ({"limit": 0}, "limit"),
        ({"limit": "5"}, "limit"),
        ({"cursor": "!!nope"}, "cursor"),
        ({"cursor": cursors.encode("date_add.desc", "2026-01-01T00:00:00", 2**40)}, "cursor"),
        ({"cursor": cursors.encode("lastname.asc", 5, 1), "sort": "lastname"}, "cursor"),
        ({"search": 5}, "search"),
    ],
)
def test_list_refuses_bad_fields(
    server: LiveServer, account: dict[str, Any], fields: dict[str, Any], field: str
) -> None:
    body = refused(server.url, account, "contacts", 422, "VALIDATION_ERROR", **fields)
    assert body["field"] == field


def test_a_cursor_of_another_sort_is_refused(server: LiveServer, account: dict[str, Any]) -> None:
    add_people(server, account)
    cursor = ok(server.url, account, "contacts", limit=1, sort="lastname")["next_cursor"]
    body = refused(
        server.url, account, "contacts", 422, "VALIDATION_ERROR", cursor=cursor, sort="firstname"
    )
    assert body["field"] == "cursor"


# -- contacts/search and find_contact --------------------------------------------


def test_search_scores_and_match_types(server: LiveServer, account: dict[str, Any]) -> None:
    add_people(server, account)

    def first(name: str, **fields: Any) -> dict[str, Any]:
        contacts = ok(server.url, account, "contacts/search", name=name, **fields)["contacts"]
        assert contacts, name
        for contact in contacts:
            check_contact(contact)
            assert isinstance(contact["score"], int) and 0 <= contact["score"] <= 100
        return contacts[0]

    exact = first("cecile dubois")
    assert (exact["lastname"], exact["score"], exact["match_type"]) == ("Dubois", 100, "exact")
    assert first("DUBOIS Cécile")["match_type"] == "exact"
    assert first("dubois")["score"] == 95
    assert first("jean", mode="exact")["lastname"] == "Martin"
    prefix = first("dup", mode="starts_with")
    assert (prefix["lastname"], prefix["match_type"]) == ("Dupont", "starts_with")
    typo = first("cecille duboiss")
    assert (typo["lastname"], typo["match_type"]) == ("Dubois", "fuzzy")
    assert 30 <= typo["score"] < 85
    assert first("lefevre")["lastname"] == "Lefèvre"
    inside = first("uran", fuzzy=False)
    assert (inside["lastname"], inside["match_type"]) == ("Durand", "contains")
    phone = first("06 12 34 56 78")
    assert (phone["lastname"], phone["score"], phone["match_type"]) == ("Dubois", 100, "phone")
    assert first("+336123")["match_type"] == "phone"


def test_search_without_fuzzy_and_in_exact_mode(
    server: LiveServer, account: dict[str, Any]
) -> None:
    add_people(server, account)
    none = ok(server.url, account, "contacts/search", name="cecille duboiss", fuzzy=False)
    assert none["contacts"] == []
    strict = ok(server.url, account, "contacts/search", name="dup", mode="exact")
    assert strict["contacts"] == []
    many = ok(server.url, account, "contacts/search", name="d", limit=2)["contacts"]
    assert len(many) == 2


def test_search_sees_every_write_at_once(server: LiveServer, account: dict[str, Any]) -> None:
    """The in-memory index follows the store's change stamp."""
    ids = add_people(server, account)
    assert ok(server.url, account, "contacts/search", name="zoe")["contacts"] == []
    add_people(server, account, [("Zoé", "Zola", "0655555555")])
    assert ok(server.url, account, "contacts/search", name="zoe")["contacts"][0]["lastname"] == (
        "Zola"
    )
    ok(server.url, account, "contacts/delete", id_contact=ids["Dubois"])
    assert ok(server.url, account, "contacts/search", name="cecile dubois")["contacts"] == []


@pytest.mark.parametrize(
    ("fields", "status", "code", "field"),
    [
        ({}, 422, "MISSING_FIELD", "name"),
        ({"name": "  "}, 422, "MISSING_FIELD", "name"),
        ({"name": 5}, 422, "VALIDATION_ERROR", "name"),
        ({"name": "a", "mode": "loose"}, 422, "VALIDATION_ERROR", "mode"),
        ({"name": "a", "fuzzy": "yes"}, 422, "VALIDATION_ERROR", "fuzzy"),
        ({"name": "a", "limit": 101}, 422, "VALIDATION_ERROR", "limit"),
        ({"name": "a" * 201}, 422, "VALIDATION_ERROR", "name"),
    ],
)
def test_search_refuses_bad_fields(
    server: LiveServer,
    account: dict[str, Any],
    fields: dict[str, Any],
    status: int,
    code: str,
    field: str,
) -> None:
    assert refused(server.url, account, "contacts/search", status, code, **fields)["field"] == field


def test_search_never_shows_another_accounts_contacts(
    server: LiveServer, account: dict[str, Any]
) -> None:
    add_people(server, account)
    stranger = other_account(server)
    assert ok(server.url, stranger, "contacts/search", name="cecile dubois")["contacts"] == []
    assert ok(server.url, stranger, "find_contact", phone_number="0612345678")["contacts"] == []


def test_find_contact_reads_any_format(server: LiveServer, account: dict[str, Any]) -> None:
    add_people(server, account)
    for written in ("0612345678", "+33612345678", "+33 6 12 34 56 78", "0033612345678"):
        found = ok(server.url, account, "find_contact", phone_number=written)["contacts"]
        assert [c["lastname"] for c in found] == ["Dubois"], written
        check_contact(found[0])
        assert found[0]["score"] == 100 and found[0]["match_type"] == "phone"
    assert ok(server.url, account, "find_contact", phone_number="0699999999")["contacts"] == []
    body = refused(server.url, account, "find_contact", 422, "MISSING_FIELD")
    assert body["field"] == "phone_number"
    body = refused(server.url, account, "find_contact", 422, "VALIDATION_ERROR", phone_number="x")
    assert body["field"] == "phone_number"


# -- detail, switch_pro, delete ------------------------------------------------------


def test_detail_switch_pro_and_soft_delete(server: LiveServer, account: dict[str, Any]) -> None:
    ids = add_people(server, account)
    cid = ids["Dubois"]
    detail = ok(server.url, account, "contacts/detail", id_contact=cid)
    check_contact(detail["contact"])
    assert detail["contact"]["phone_number"] == "+33612345678"
    assert detail["lists"] == []
    assert detail["message_counts"]["outbound"] == 0
    switched = ok(server.url, account, "contacts/switch_pro", id_contact=cid, pro=True)
    assert switched == {"success": True, "id_contact": cid, "pro": True}
    assert ok(server.url, account, "contacts/detail", id_contact=cid)["contact"]["pro"] is True
    assert ok(server.url, account, "contacts/delete", id_contact=cid)["deleted"] is True
    refused(server.url, account, "contacts/detail", 404, "NOT_FOUND", id_contact=cid)
    refused(server.url, account, "contacts/delete", 404, "NOT_FOUND", id_contact=cid)
    listed = ok(server.url, account, "contacts", limit=100)["contacts"]
    assert cid not in {c["id"] for c in listed}
    # The same number upserted again brings it back, pro flag kept.
    add_people(server, account, [("Cécile", "Dubois", "+33612345678")])
    back = ok(server.url, account, "contacts/detail", id_contact=cid)["contact"]
    assert back["pro"] is True


@pytest.mark.parametrize("endpoint", ["contacts/detail", "contacts/delete", "contacts/tags"])
def test_ids_of_nobody_or_of_another_account(
    server: LiveServer, account: dict[str, Any], endpoint: str
) -> None:
    ids = add_people(server, account)
    stranger = other_account(server)
    for bad in (ids["Dubois"], "999999999", "99999999999", str(2**63), "abc", " 1x"):
        body = refused(server.url, stranger, endpoint, 404, "NOT_FOUND", id_contact=bad)
        assert body["field"] == "id_contact"
    assert refused(server.url, account, endpoint, 422, "MISSING_FIELD")["field"] == "id_contact"


def test_switch_pro_refuses_bad_fields(server: LiveServer, account: dict[str, Any]) -> None:
    ids = add_people(server, account)
    body = refused(
        server.url, account, "contacts/switch_pro", 422, "MISSING_FIELD", id_contact=ids["Dubois"]
    )
    assert body["field"] == "pro"
    body = refused(
        server.url,
        account,
        "contacts/switch_pro",
        422,
        "VALIDATION_ERROR",
        id_contact=ids["Dubois"],
        pro="yes",
    )
    assert body["field"] == "pro"
    body = refused(
        server.url, account, "contacts/switch_pro", 404, "NOT_FOUND", id_contact="77777", pro=True
    )
    assert body["field"] == "id_contact"


# -- tags -----------------------------------------------------------------------------


def test_tags_are_cleaned_added_and_removed(server: LiveServer, account: dict[str, Any]) -> None:
    cid = add_people(server, account)["Dubois"]
    body = ok(server.url, account, "contacts/tags", id_contact=cid, add=[" VIP ", "vip", "Premium"])
    assert body["tags"] == ["premium", "vip"] and body["added"] == ["vip", "premium"]
    body = ok(server.url, account, "contacts/tags", id_contact=cid, add=[], remove=["VIP", "nope"])
    assert body["tags"] == ["premium"] and body["removed"] == ["vip"]
    found = ok(server.url, account, "contacts/search", name="cecile dubois")["contacts"][0]
    assert found["tags"] == ["premium"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"add": "vip"}, "add"),
        ({"add": [""]}, "add"),
        ({"add": ["x" * 65]}, "add"),
        ({"add": [5]}, "add"),
        ({"remove": ["a\x01b"]}, "remove"),
        ({"add": [f"t{i}" for i in range(51)]}, "add"),
    ],
)
def test_tags_refuses_bad_fields(
    server: LiveServer, account: dict[str, Any], fields: dict[str, Any], field: str
) -> None:
    cid = add_people(server, account)["Dubois"]
    body = refused(
        server.url, account, "contacts/tags", 422, "VALIDATION_ERROR", id_contact=cid, **fields
    )
    assert body["field"] == field


# -- custom fields ------------------------------------------------------------------


def test_custom_fields_with_their_counts(server: LiveServer, account: dict[str, Any]) -> None:
    ids = add_people(server, account)
    acc = owner(server, account)
    assert ok(server.url, account, "contacts/custom_fields")["custom_fields"] == []
    contact_book.define_custom_field(server.engine, acc, "company", "Company")
    contact_book.define_custom_field(server.engine, acc, "city")
    contact_book.set_custom_values(server.engine, acc, int(ids["Dubois"]), {"company": "ACME"})
    contact_book.set_custom_values(server.engine, acc, int(ids["Martin"]), {"company": "Initech"})
    fields = ok(server.url, account, "contacts/custom_fields")["custom_fields"]
    assert [(f["name"], f["label"], f["contacts"]) for f in fields] == [
        ("city", "", 0),
        ("company", "Company", 2),
    ]
    assert isinstance(fields[0]["id"], str) and isinstance(fields[0]["created"], str)
    detail = ok(server.url, account, "contacts/detail", id_contact=ids["Dubois"])
    assert detail["contact"]["custom"] == {"company": "ACME"}
    ok(server.url, account, "contacts/delete", id_contact=ids["Martin"])
    fields = ok(server.url, account, "contacts/custom_fields")["custom_fields"]
    assert fields[1]["contacts"] == 1  # deleted contacts are not counted


# -- hypothesis: whatever comes in, a JSON answer and never a 500 ------------------------

TEXT = st.one_of(
    st.text(max_size=40), st.integers(), st.none(), st.booleans(), st.lists(st.text(max_size=3))
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=TEXT, mode=TEXT, fuzzy=TEXT, limit=TEXT)
def test_search_inputs_never_crash(
    server: LiveServer, account: dict[str, Any], name: Any, mode: Any, fuzzy: Any, limit: Any
) -> None:
    response = call(
        server.url, account, "contacts/search", name=name, mode=mode, fuzzy=fuzzy, limit=limit
    )
    assert response.status_code in (200, 422), response.text
    body = response.json()
    if response.status_code == 200:
        assert isinstance(body["contacts"], list)
    else:
        assert body["error_code"] in ("MISSING_FIELD", "VALIDATION_ERROR")
        assert body["field"] in ("name", "mode", "fuzzy", "limit")


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    fields=st.dictionaries(st.sampled_from(["search", "sort", "order", "cursor", "limit"]), TEXT)
)
def test_list_inputs_never_crash(
    server: LiveServer, account: dict[str, Any], fields: dict[str, Any]
) -> None:
    response = call(server.url, account, "contacts", **fields)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert response.json()["field"] in fields


# -- the official client -------------------------------------------------------------------


@pytest.mark.client_side
def test_official_client_contacts_commands(
    server: LiveServer, account: dict[str, Any], tmp_path: Path
) -> None:
    ids = add_people(server, account)
    cid = ids["Dubois"]
    ok(server.url, account, "contacts/tags", id_contact=cid, add=["vip"])

    listed = insim_json(server.url, account, "contacts", "list", "--limit", "2", home=tmp_path)
    assert len(listed["contacts"]) == 2 and isinstance(listed["next_cursor"], str)
    for contact in listed["contacts"]:
        check_contact(contact)
    page2 = insim_json(
        server.url,
        account,
        "contacts",
        "list",
        "--cursor",
        listed["next_cursor"],
        "--sort",
        "date_add",
        "--order",
        "desc",
        home=tmp_path,
    )
    assert {c["id"] for c in page2["contacts"]}.isdisjoint({c["id"] for c in listed["contacts"]})
    human = insim(
        server.url, account, "contacts", "list", "--search", "é", home=tmp_path, json_mode=False
    )
    assert human.returncode == 0, human.stderr
    human = insim(server.url, account, "contacts", "list", home=tmp_path, json_mode=False)
    assert human.returncode == 0 and "Dubois" in human.stdout, human.stderr

    found = insim_json(server.url, account, "contacts", "search", "cécile", home=tmp_path)
    assert found["contacts"][0]["id"] == cid and isinstance(found["contacts"][0]["score"], int)
    human = insim(
        server.url, account, "contacts", "search", "cecile dubois", home=tmp_path, json_mode=False
    )
    assert human.returncode == 0 and "Tags: vip" in human.stdout, human.stdout
    assert "Score: 100 (exact)" in human.stdout
    for args in (["--mode", "exact", "--no-fuzzy"], ["--mode", "starts_with", "--limit", "1"]):
        done = insim(
            server.url, account, "contacts", "search", "dub", *args, home=tmp_path, json_mode=False
        )
        assert done.returncode == 0, done.stderr
    nobody = insim(
        server.url, account, "contacts", "search", "zzzz", home=tmp_path, json_mode=False
    )
    assert nobody.returncode == 0 and "No contacts found" in nobody.stdout

    phone = insim_json(
        server.url, account, "contacts", "find-phone", "06 12 34 56 78", home=tmp_path
    )
    assert phone["contacts"][0]["id"] == cid
    human = insim(
        server.url, account, "contacts", "find-phone", "0612345678", home=tmp_path, json_mode=False
    )
    assert human.returncode == 0 and "Dubois" in human.stdout
    human = insim(
        server.url, account, "contacts", "find-phone", "0699999999", home=tmp_path, json_mode=False
    )
    assert human.returncode == 0 and "No contacts found" in human.stdout

    detail = insim_json(server.url, account, "contacts", "detail", cid, home=tmp_path)
    assert detail["contact"]["id_contact"] == cid
    human = insim(server.url, account, "contacts", "detail", cid, home=tmp_path, json_mode=False)
    assert human.returncode == 0 and "Dubois" in human.stdout

    pro = insim_json(server.url, account, "contacts", "switch-pro", cid, "--pro", home=tmp_path)
    assert pro["pro"] is True
    perso = insim(
        server.url,
        account,
        "contacts",
        "switch-pro",
        cid,
        "--perso",
        home=tmp_path,
        json_mode=False,
    )
    assert perso.returncode == 0, perso.stderr

    added = insim(
        server.url,
        account,
        "contacts",
        "tags-add",
        cid,
        "Gold",
        "new",
        home=tmp_path,
        json_mode=False,
    )
    assert added.returncode == 0 and "Added 2 tag(s)" in added.stdout
    tags = insim_json(server.url, account, "contacts", "tags-remove", cid, "new", home=tmp_path)
    assert tags["tags"] == ["gold", "vip"]

    fields = insim_json(server.url, account, "contacts", "custom-fields", home=tmp_path)
    assert fields["custom_fields"] == []
    human = insim(server.url, account, "contacts", "custom-fields", home=tmp_path, json_mode=False)
    assert human.returncode == 0

    gone = insim(
        server.url, account, "contacts", "delete", cid, "--confirm", home=tmp_path, json_mode=False
    )
    assert gone.returncode == 0 and "Contact deleted" in gone.stdout
    missing = insim(server.url, account, "contacts", "detail", cid, home=tmp_path, json_mode=False)
    assert missing.returncode == 1 and "Error [NOT_FOUND]" in missing.stderr
    assert "Field: id_contact" in missing.stderr


def test_two_nodes_on_one_store_never_answer_stale(
    server: LiveServer, account: dict[str, Any], shared_settings: Any
) -> None:
    """Each node keeps its own search index; the store's change stamp tells it
    when another node wrote."""
    ids = add_people(server, account)
    with LiveServer(shared_settings) as other:
        for node in (server, other):  # both build their index
            found = ok(node.url, account, "contacts/search", name="cecile dubois")["contacts"]
            assert [c["id"] for c in found] == [ids["Dubois"]]
        ok(other.url, account, "contacts/delete", id_contact=ids["Dubois"])
        assert ok(server.url, account, "contacts/search", name="cecile dubois")["contacts"] == []
        upsert_contacts(
            other.engine,
            owner(other, account),
            [{"firstname": "Cécile", "lastname": "Dubois", "phone_number": "0612345678"}],
        )
        back = ok(server.url, account, "contacts/search", name="cecile dubois")["contacts"]
        assert [c["id"] for c in back] == [ids["Dubois"]]
        post = {"header": {"login": account["login"], "accessKey": account["accessKey"]}}
        other.post(
            "/api/v1/contact",
            json={
                **post,
                "contacts": [
                    {"firstname": "Noé", "lastname": "Neuf", "phone_number": "0677777777"}
                ],
            },
        )
        assert ok(server.url, account, "contacts/search", name="noe neuf")["contacts"]
        assert (
            ok(server.url, account, "contacts/search", name="noe", mode="starts_with")["contacts"][
                0
            ]["lastname"]
            == "Neuf"
        )
