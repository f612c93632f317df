"""The CRM pages over real HTTP on both stores: lists, custom fields, and a
contact's tags, pro flag, custom values, lists and soft delete; never another
account's rows."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from simgate.services import contact_book
from simgate.services.accounts import create_account
from simgate.services.contacts import upsert_contacts
from simgate.services.passwords import set_password
from simgate.store.accounts import Account
from tests.support.servers import LiveServer
from tests.support.v2 import ok
from tests.web.helpers import PASSWORD, csrf_of, signed_in_client


@pytest.fixture
def server(shared_server: LiveServer) -> LiveServer:
    return shared_server


@pytest.fixture
def account(shared_account: dict[str, Any]) -> dict[str, Any]:
    return shared_account


@pytest.fixture
def client(server: LiveServer, account: dict[str, Any]) -> Iterator[httpx.Client]:
    set_password(server.engine, account["login"], PASSWORD)
    with signed_in_client(server.url, account["login"]) as client:
        yield client


def post(client: httpx.Client, path: str, page: str, **data: str) -> httpx.Response:
    token = csrf_of(client.get(page).text)
    return client.post(path, data={**data, "csrf_token": token})


def owner(account: dict[str, Any]) -> Account:
    return Account(account["id"], account["login"], "Europe/Paris", "FR")


def add_contact(server: LiveServer, account: dict[str, Any], first: str, number: str) -> int:
    upsert_contacts(
        server.engine,
        owner(account),
        [{"firstname": first, "lastname": "Doe", "phone_number": number}],
    )
    found = ok(server.url, account, "find_contact", phone_number=number)["contacts"]
    return int(found[0]["id"])


def test_pages_render(client: httpx.Client) -> None:
    for path in ("/app/lists", "/app/contacts/fields"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert "no-store" in answer.headers["cache-control"]


def test_lists_from_creation_to_deletion(
    client: httpx.Client, server: LiveServer, account: dict[str, Any]
) -> None:
    ann = add_contact(server, account, "Ann", "0612345601")
    add_contact(server, account, "Bob", "0612345602")
    assert post(client, "/app/lists", "/app/lists", name="").status_code == 400
    made = post(client, "/app/lists", "/app/lists", name="<b>VIP</b>", description="best")
    assert made.status_code == 303
    page = made.headers["location"].split("?")[0]
    assert "&lt;b&gt;VIP&lt;/b&gt;" in client.get(page).text  # escaped
    bad = post(client, f"{page}/add", page, phone_number="0699999999")
    assert bad.status_code == 400 and "No contact has this number" in bad.text
    assert post(client, f"{page}/add", page, phone_number="+33 6 12 34 56 01").status_code == 303
    shown = client.get(page).text
    assert "Ann Doe" in shown and "1 contact" in shown
    everyone = post(client, f"{page}/addall", page)
    assert everyone.status_code == 200 and "Added 1, skipped 1" in everyone.text
    listed = client.get("/app/lists").text
    assert re.search(r"VIP.*?</a></td>\s*<td[^>]*>2</td>", listed, re.S), listed
    removed = post(client, f"{page}/remove/{ann}", page)
    assert removed.status_code == 303 and "Ann Doe" not in client.get(page).text
    renamed = post(client, page, page, name="Gold", description="")
    assert renamed.status_code == 303
    assert "<h1>Gold</h1>" in client.get(page).text and "best" in client.get(page).text
    assert post(client, f"{page}/delete", page).status_code == 303
    assert client.get(page).status_code == 404


def test_contact_crm_parts(
    client: httpx.Client, server: LiveServer, account: dict[str, Any]
) -> None:
    cid = add_contact(server, account, "Cécile", "0612345603")
    page = f"/app/contacts/{cid}"
    contact_book.define_custom_field(server.engine, owner(account), "company", "Company")
    list_id = ok(server.url, account, "lists/create", name="Clients")["list_id"]
    assert post(client, f"{page}/tags", page, add="VIP, Gold ,").status_code == 303
    assert post(client, f"{page}/tags", page, remove="gold").status_code == 303
    assert post(client, f"{page}/pro", page, pro="1").status_code == 303
    assert post(client, f"{page}/custom", page, **{"custom.company": "ACME"}).status_code == 303
    assert post(client, f"{page}/lists", page, list_id=list_id).status_code == 303
    detail = ok(server.url, account, "contacts/detail", id_contact=str(cid))
    assert detail["contact"]["tags"] == ["vip"] and detail["contact"]["pro"] is True
    assert detail["contact"]["custom"] == {"company": "ACME"}
    assert [item["name"] for item in detail["lists"]] == ["Clients"]
    shown = client.get(page).text
    assert "vip" in shown and 'value="ACME"' in shown and "Clients" in shown
    undefined = post(client, f"{page}/custom", page, **{"custom.nope": "x"})
    assert undefined.status_code == 400
    assert post(client, f"{page}/tags", page, add="x" * 65).status_code == 400
    listing = client.get("/app/contacts?q=cecile").text
    assert "Cécile" in listing and "vip" in listing
    # The dashboard's edit keeps the folded name in step for the v2 search.
    saved = post(client, page, page, phone_number="0612345603", firstname="Zoé", lastname="Zola")
    assert saved.status_code == 303
    found = ok(server.url, account, "contacts/search", name="zoe zola")["contacts"]
    assert found[0]["id"] == str(cid) and found[0]["match_type"] == "exact"
    # Delete is the soft delete: gone from the pages and the API, back on upsert.
    assert post(client, f"{page}/delete", page).status_code == 303
    assert client.get(page).status_code == 404
    assert "Zola" not in client.get("/app/contacts").text
    assert ok(server.url, account, "contacts/search", name="zoe zola")["contacts"] == []
    add_contact(server, account, "Zoé", "0612345603")
    assert client.get(page).status_code == 200


def test_custom_field_definitions(
    client: httpx.Client, server: LiveServer, account: dict[str, Any]
) -> None:
    page = "/app/contacts/fields"
    bad = post(client, page, page, name="Bad Name")
    assert bad.status_code == 400 and 'id="name-error"' in bad.text
    assert post(client, page, page, name="city", label="City").status_code == 303
    again = post(client, page, page, name="city")
    assert again.status_code == 400 and "already" in again.text
    fields = ok(server.url, account, "contacts/custom_fields")["custom_fields"]
    assert [(f["name"], f["label"]) for f in fields] == [("city", "City")]
    assert post(client, f"{page}/{fields[0]['id']}/delete", page).status_code == 303
    assert ok(server.url, account, "contacts/custom_fields")["custom_fields"] == []


def test_another_accounts_rows_stay_hidden(
    client: httpx.Client, server: LiveServer, account: dict[str, Any]
) -> None:
    acc, key = create_account(
        server.engine, f"{secrets.token_hex(5)}@example.com", "Europe/Paris", "FR"
    )
    theirs = {"login": acc.email, "accessKey": key, "id": acc.id}
    their_list = ok(server.url, theirs, "lists/create", name="Secret list")["list_id"]
    their_contact = add_contact(server, theirs, "Secret", "0612345699")
    mine = ok(server.url, account, "lists/create", name="Mine")["list_id"]
    assert client.get(f"/app/lists/{their_list}").status_code == 404
    assert "Secret list" not in client.get("/app/lists").text
    page = f"/app/lists/{mine}"
    for path in (
        f"/app/lists/{their_list}",
        f"/app/lists/{their_list}/delete",
        f"/app/lists/{their_list}/addall",
        f"/app/contacts/{their_contact}/tags",
        f"/app/contacts/{their_contact}/pro",
        f"/app/contacts/{their_contact}/custom",
    ):
        assert post(client, path, page, name="x", add="x", pro="1").status_code == 404, path
    assert post(client, "/app/contacts/1/lists", page, list_id="9" * 15).status_code == 404
    added = post(client, f"{page}/add", page, phone_number="0612345699")
    assert added.status_code == 400  # their number is no contact of this account
    joined = post(client, f"/app/contacts/{their_contact}/lists", page, list_id=mine)
    assert joined.status_code == 404
