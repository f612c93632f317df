"""v2 templates: CRUD and templates/send over HTTP and through the official
client, on both stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from simgate.domain.cursors import encode
from tests.support.servers import LiveServer
from tests.support.v2 import insim, insim_json, ok, other_account, refused
from tests.v2.rows import add_contact, message_by_sms_id


def new_template(server: LiveServer, account: dict[str, Any], name: str, message: str) -> str:
    body = ok(server.url, account, "templates/create", name=name, message=message)
    return str(body["template_id"])


def test_create_list_update_delete(server: LiveServer, account: dict[str, Any]) -> None:
    body = ok(
        server.url,
        account,
        "templates/create",
        name="Rappel",
        message="Bonjour {firstname}, RDV le {custom.date} ({firstname}) {foo}",
    )
    template = body["template"]
    tid = body["template_id"]
    assert isinstance(tid, str) and template["id"] == tid == template["template_id"]
    assert template["variables"] == ["firstname", "custom.date"]
    assert template["name"] == "Rappel" and isinstance(template["created"], str)

    listed = ok(server.url, account, "templates")
    assert [t["template_id"] for t in listed["templates"]] == [tid]
    assert listed["next_cursor"] is None and listed["has_more"] is False

    # Absent or "" leaves a field as it is.
    same = ok(server.url, account, "templates/update", template_id=tid, name="", message="")
    assert same["template"]["name"] == "Rappel"
    renamed = ok(server.url, account, "templates/update", template_id=tid, name="Relance")
    assert renamed["template"]["name"] == "Relance"
    assert renamed["template"]["message"] == template["message"]
    changed = ok(server.url, account, "templates/update", template_id=tid, message="Hi {lastname}")
    assert changed["template"]["variables"] == ["lastname"]

    ok(server.url, account, "templates/delete", template_id=tid)
    gone = refused(server.url, account, "templates/delete", 404, "NOT_FOUND", template_id=tid)
    assert gone["field"] == "template_id"
    assert ok(server.url, account, "templates")["templates"] == []


def test_pages(server: LiveServer, account: dict[str, Any]) -> None:
    ids = [new_template(server, account, f"t{i}", f"message {i}") for i in range(5)]
    first = ok(server.url, account, "templates", limit=2)
    assert first["has_more"] is True and isinstance(first["next_cursor"], str)
    seen = [t["id"] for t in first["templates"]]
    cursor = first["next_cursor"]
    while cursor:
        page = ok(server.url, account, "templates", limit=2, cursor=cursor)
        seen += [t["id"] for t in page["templates"]]
        cursor = page["next_cursor"]
    assert seen == ids[::-1]  # newest first, each once
    for cursor in ("nope", encode("yesterday", 1), encode(1, "x"), encode("2026-01-01", 1.5)):
        bad = refused(server.url, account, "templates", 422, "VALIDATION_ERROR", cursor=cursor)
        assert bad["field"] == "cursor"


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"message": "x"}, "MISSING_FIELD", "name"),
        ({"name": "n"}, "MISSING_FIELD", "message"),
        ({"name": "n", "message": "   "}, "MISSING_FIELD", "message"),
        ({"name": "n", "message": 5}, "VALIDATION_ERROR", "message"),
        ({"name": ["n"], "message": "x"}, "VALIDATION_ERROR", "name"),
        ({"name": "n" * 201, "message": "x"}, "VALIDATION_ERROR", "name"),
        ({"name": "n", "message": "a\x00b"}, "VALIDATION_ERROR", "message"),
    ],
)
def test_create_refuses(
    server: LiveServer, account: dict[str, Any], fields: dict[str, Any], code: str, field: str
) -> None:
    body = refused(server.url, account, "templates/create", 422, code, **fields)
    assert body["field"] == field


def test_ids_of_nothing_or_of_another_account(server: LiveServer, account: dict[str, Any]) -> None:
    theirs = new_template(server, other_account(server), "theirs", "hello")
    for endpoint, extra in [
        ("templates/update", {"name": "x"}),
        ("templates/delete", {}),
        ("templates/send", {"recipients": [{"phone_number": "0612345678"}]}),
    ]:
        for tid in (theirs, "999999999", "abc", " "):
            body = refused(
                server.url, account, endpoint, 404, "NOT_FOUND", template_id=tid, **extra
            )
            assert body["field"] == "template_id"
        missing = refused(server.url, account, endpoint, 422, "MISSING_FIELD", **extra)
        assert missing["field"] == "template_id"


def test_send_fills_from_vars_then_the_contact(server: LiveServer, account: dict[str, Any]) -> None:
    add_contact(
        server.engine,
        account["id"],
        "+33612345670",
        firstname="Cécile",
        lastname="Dubois",
        email="c@example.com",
        custom={"date": "15 avril"},
    )
    tid = new_template(
        server,
        account,
        "rdv",
        "Bonjour {firstname} {lastname}, RDV le {custom.date}. {email} {phone_number} {x}",
    )
    body = ok(
        server.url,
        account,
        "templates/send",
        template_id=tid,
        recipients=[{"phone_number": "06 12 34 56 70", "variables": {"lastname": "D."}}],
    )
    assert body["sent_count"] == 1
    [result] = body["result"]
    assert result["sent"] == 1 and result["phone_number"] == "+33612345670"
    expected = "Bonjour Cécile D., RDV le 15 avril. c@example.com +33612345670 {x}"
    assert result["message"] == expected and result["segments"] == 1
    stored = message_by_sms_id(server.engine, result["sms_id"])
    assert stored.message == expected and stored.state == "queued" and stored.priority == 1


def test_send_without_a_value_is_refused(server: LiveServer, account: dict[str, Any]) -> None:
    tid = new_template(server, account, "t", "Hi {firstname}, see {custom.city}")
    body = refused(
        server.url,
        account,
        "templates/send",
        422,
        "VALIDATION_ERROR",
        template_id=tid,
        recipients=[{"phone_number": "+33699999999", "variables": {}}],
    )
    assert body["field"] == "firstname"
    # An empty value is no value either.
    body = refused(
        server.url,
        account,
        "templates/send",
        422,
        "VALIDATION_ERROR",
        template_id=tid,
        recipients=[
            {"phone_number": "+33699999999", "variables": {"firstname": "Ann", "custom.city": " "}}
        ],
    )
    assert body["field"] == "custom.city"


@pytest.mark.parametrize(
    ("recipient", "code", "field"),
    [
        ({"phone_number": "+33612", "variables": {}}, "VALIDATION_ERROR", "phone_number"),
        ({"variables": {}}, "MISSING_FIELD", "phone_number"),
        ({"phone_number": 33612345678}, "VALIDATION_ERROR", "phone_number"),
        ({"phone_number": "+33612345678", "variables": [1, 2]}, "VALIDATION_ERROR", "variables"),
        ({"phone_number": "+33612345678", "variables": "x"}, "VALIDATION_ERROR", "variables"),
        ({"phone_number": "+33612345678", "variables": {"a": 1}}, "VALIDATION_ERROR", "variables"),
        ("+33612345678", "VALIDATION_ERROR", "recipients"),
    ],
)
def test_send_refuses_a_bad_recipient(
    server: LiveServer, account: dict[str, Any], recipient: Any, code: str, field: str
) -> None:
    tid = new_template(server, account, "plain", "Hello")
    body = refused(
        server.url, account, "templates/send", 422, code, template_id=tid, recipients=[recipient]
    )
    assert body["field"] == field


def test_send_answers_each_recipient(server: LiveServer, account: dict[str, Any]) -> None:
    tid = new_template(server, account, "t", "Hi {firstname} [link]")
    body = ok(
        server.url,
        account,
        "templates/send",
        template_id=tid,
        url="https://example.com/offer",
        priority=5,
        recipients=[
            {"phone_number": "+33611111111", "variables": {"firstname": "Ann"}},
            {"phone_number": "+33622222222", "variables": None},
            {"phone_number": "nope", "variables": {"firstname": "Bob"}},
        ],
    )
    assert body["sent_count"] == 1
    good, missing, bad = body["result"]
    assert good["sent"] == 1 and good["message"].startswith("Hi Ann http")
    stored = message_by_sms_id(server.engine, good["sms_id"])
    assert stored.priority == 5 and stored.url == "https://example.com/offer"
    assert stored.short_code and stored.short_code in stored.message
    assert missing == {
        "sent": 0,
        "phone_number": "+33622222222",
        "error": missing["error"],
        "error_code": "VALIDATION_ERROR",
        "field": "firstname",
    }
    assert bad["sent"] == 0 and bad["field"] == "phone_number" and bad["phone_number"] == "nope"


def test_send_through_the_send_path_refusals(server: LiveServer, account: dict[str, Any]) -> None:
    tid = new_template(server, account, "t", "Hello")
    body = refused(
        server.url,
        account,
        "templates/send",
        422,
        "VALIDATION_ERROR",
        template_id=tid,
        url="ftp://x",
        recipients=[{"phone_number": "+33611111111"}],
    )
    assert body["field"] == "url"


def test_send_takes_at_most_the_request_limit(server: LiveServer, account: dict[str, Any]) -> None:
    tid = new_template(server, account, "t", "Hello")
    most = server.settings.max_messages_per_request
    recipients = [{"phone_number": "+33611111111"}] * (most + 1)
    body = refused(
        server.url,
        account,
        "templates/send",
        422,
        "VALIDATION_ERROR",
        template_id=tid,
        recipients=recipients,
    )
    assert body["field"] == "recipients"
    for empty in ([], None):
        body = refused(
            server.url,
            account,
            "templates/send",
            422,
            "MISSING_FIELD",
            template_id=tid,
            recipients=empty,
        )
        assert body["field"] == "recipients"


@pytest.mark.client_side
def test_official_client(server: LiveServer, account: dict[str, Any], tmp_path: Path) -> None:
    created = insim_json(
        server.url,
        account,
        "templates",
        "create",
        "--name",
        "Promo",
        "--message",
        "Salut {firstname} !",
        home=tmp_path,
    )
    tid = created["template_id"]
    assert created["success"] is True and isinstance(tid, str)
    human = insim(
        server.url,
        account,
        "templates",
        "create",
        "--name",
        "Deux",
        "--message",
        "x",
        home=tmp_path,
        json_mode=False,
    )
    assert human.returncode == 0 and "Template 'Deux' created" in human.stdout, human.stderr

    listed = insim_json(server.url, account, "templates", "list", home=tmp_path)
    assert all(
        isinstance(t["message"], str) and isinstance(t["name"], str) for t in listed["templates"]
    )
    table = insim(server.url, account, "templates", "list", home=tmp_path, json_mode=False)
    assert table.returncode == 0 and "Promo" in table.stdout, table.stderr

    updated = insim_json(
        server.url, account, "templates", "update", tid, "--name", "Promo 2", home=tmp_path
    )
    assert updated["template"]["name"] == "Promo 2"
    assert updated["template"]["message"] == "Salut {firstname} !"

    sent = insim_json(
        server.url,
        account,
        "templates",
        "send",
        tid,
        "--to",
        "0611223344",
        "--vars",
        '{"firstname": "Léa"}',
        home=tmp_path,
    )
    assert sent["sent_count"] == 1 and sent["result"][0]["message"] == "Salut Léa !"
    said = insim(
        server.url,
        account,
        "templates",
        "send",
        tid,
        "--to",
        "0611223344",
        "--vars",
        '{"firstname": "Léa"}',
        home=tmp_path,
        json_mode=False,
    )
    assert said.returncode == 0 and "Template sent to 0611223344" in said.stdout
    wrong = insim(
        server.url,
        account,
        "templates",
        "send",
        tid,
        "--to",
        "0611223344",
        "--vars",
        "[1, 2]",
        home=tmp_path,
        json_mode=False,
    )
    assert wrong.returncode == 1 and "Error [VALIDATION_ERROR]" in wrong.stderr
    assert "Field: variables" in wrong.stderr

    # No --confirm: the client asks, and a "no" sends nothing.
    declined = insim(
        server.url, account, "templates", "delete", tid, home=tmp_path, json_mode=False, stdin="n\n"
    )
    assert declined.returncode == 1
    deleted = insim_json(
        server.url, account, "templates", "delete", tid, "--confirm", home=tmp_path
    )
    assert deleted["success"] is True
    again = insim(
        server.url, account, "templates", "delete", tid, "--confirm", home=tmp_path, json_mode=False
    )
    assert again.returncode == 1 and "Error [NOT_FOUND]" in again.stderr
