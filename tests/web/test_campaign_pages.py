"""The template and campaign pages over real HTTP on both stores: they render,
show field errors, create, start and cancel, refresh their counts for htmx,
and never show another account's rows."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from simgate.services.accounts import create_account
from simgate.services.passwords import set_password
from tests.support.servers import LiveServer
from tests.v2.rows import add_contact, add_list, campaign_messages
from tests.web.helpers import PASSWORD, csrf_of, signed_in_client


@pytest.fixture
def owner(shared_server: LiveServer) -> dict[str, Any]:
    acc, key = create_account(
        shared_server.engine, f"{secrets.token_hex(5)}@example.com", "Europe/Paris", "FR"
    )
    set_password(shared_server.engine, acc.email, PASSWORD)
    return {"login": acc.email, "accessKey": key, "id": acc.id}


@pytest.fixture
def client(shared_server: LiveServer, owner: dict[str, Any]) -> Iterator[httpx.Client]:
    with signed_in_client(shared_server.url, owner["login"]) as client:
        yield client


def post(client: httpx.Client, path: str, page: str, **data: str) -> httpx.Response:
    token = csrf_of(client.get(page).text)
    return client.post(path, data={**data, "csrf_token": token})


def test_pages_render(client: httpx.Client) -> None:
    for path in ("/app/templates", "/app/campaigns", "/app/campaigns/new"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert 'href="/app/campaigns"' in answer.text and 'href="/app/templates"' in answer.text
    assert client.get("/app/campaigns/999999").status_code == 404
    assert client.get("/app/templates/999999").status_code == 404


def test_templates_create_edit_delete(client: httpx.Client) -> None:
    bad = post(client, "/app/templates", "/app/templates", name="", message=" ")
    assert (
        bad.status_code == 400
        and 'id="name-error"' in bad.text
        and 'id="message-error"' in bad.text
    )
    made = post(client, "/app/templates", "/app/templates", name="<b>Promo</b>",
                message="Hi {firstname}, {custom.code}")  # fmt: skip
    assert made.status_code == 303
    page = client.get("/app/templates").text
    assert "&lt;b&gt;Promo&lt;/b&gt;" in page and "firstname, custom.code" in page
    template_id = re.search(r'href="/app/templates/(\d+)"', page)[1]  # type: ignore[index]
    edit = f"/app/templates/{template_id}"
    saved = post(client, edit, edit, name="Promo", message="Bye {lastname}")
    assert saved.status_code == 303
    assert "Bye {lastname}" in client.get(edit).text
    gone = post(client, f"{edit}/delete", edit)
    assert gone.status_code == 303 and client.get(edit).status_code == 404


def test_campaign_from_pasted_numbers_start_and_counts(
    shared_server: LiveServer, client: httpx.Client
) -> None:
    bad = post(client, "/app/campaigns", "/app/campaigns/new", name="", numbers="", message="x")
    assert bad.status_code == 400 and 'id="numbers-error"' in bad.text
    assert 'id="name-error"' in bad.text
    made = post(client, "/app/campaigns", "/app/campaigns/new", name="Soldes",
                numbers="0611000001, +33611000002\n12", message="Soldes [link]",
                url="https://example.com", priority="2", list_id="", template_id="",
                at="")  # fmt: skip
    assert made.status_code == 200, made.text
    assert 'id="count-recipients">2<' in made.text and "“12”" in made.text
    campaign_id = re.search(r'action="/app/campaigns/(\d+)/start"', made.text)[1]  # type: ignore[index]
    detail = f"/app/campaigns/{campaign_id}"
    started = post(client, f"{detail}/start", detail)
    assert started.status_code == 303
    assert len(campaign_messages(shared_server.engine, int(campaign_id))) == 2
    live = client.get(detail, headers={"HX-Request": "true"})
    assert live.status_code == 200 and 'id="count-pending">2<' in live.text
    assert ">sending<" in live.text
    listed = client.get("/app/campaigns", headers={"HX-Request": "true"}).text
    assert "Soldes" in listed and "<html" not in listed
    again = post(client, f"{detail}/start", detail)
    assert again.status_code == 409
    cancelled = post(client, f"{detail}/cancel", detail)
    assert cancelled.status_code == 303
    final = client.get(detail, headers={"HX-Request": "true"})
    assert final.status_code == 286 and 'id="count-failed">2<' in final.text


def test_campaign_from_a_list_or_a_template(
    shared_server: LiveServer, client: httpx.Client, owner: dict[str, Any]
) -> None:
    ann = add_contact(shared_server.engine, owner["id"], "+33677000001", firstname="Ann")
    list_id = add_list(shared_server.engine, owner["id"], "Clients", [ann])
    assert "Clients" in client.get("/app/campaigns/new").text
    post(client, "/app/templates", "/app/templates", name="T", message="Hello {firstname}")
    template_id = re.search(r'href="/app/templates/(\d+)"', client.get("/app/templates").text)[1]  # type: ignore[index]
    made = post(client, "/app/campaigns", "/app/campaigns/new", name="From list",
                list_id=str(list_id), template_id=template_id, numbers="", message="",
                url="", priority="1", at="")  # fmt: skip
    assert made.status_code == 200 and 'id="count-recipients">1<' in made.text
    campaign_id = re.search(r'action="/app/campaigns/(\d+)/start"', made.text)[1]  # type: ignore[index]
    post(client, f"/app/campaigns/{campaign_id}/start", f"/app/campaigns/{campaign_id}")
    [row] = campaign_messages(shared_server.engine, int(campaign_id))
    assert row.message == "Hello Ann"


def test_another_accounts_campaign_is_not_found(
    shared_server: LiveServer, client: httpx.Client
) -> None:
    other, _ = create_account(
        shared_server.engine, f"{secrets.token_hex(5)}@example.com", "Europe/Paris", "FR"
    )
    set_password(shared_server.engine, other.email, PASSWORD)
    with signed_in_client(shared_server.url, other.email) as theirs:
        post(theirs, "/app/campaigns", "/app/campaigns/new", name="Theirs",
             numbers="0611000009", message="x", list_id="", template_id="", url="",
             priority="1", at="")  # fmt: skip
        page = theirs.get("/app/campaigns").text
        campaign_id = re.search(r'href="/app/campaigns/(\d+)"', page)[1]  # type: ignore[index]
    assert client.get(f"/app/campaigns/{campaign_id}").status_code == 404
    refused = post(client, f"/app/campaigns/{campaign_id}/start", "/app/campaigns")
    assert refused.status_code == 404
    assert "Theirs" not in client.get("/app/campaigns").text
    no_token = client.post(f"/app/campaigns/{campaign_id}/cancel", data={})
    assert no_token.status_code == 403
