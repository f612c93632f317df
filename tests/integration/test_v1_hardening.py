"""Bad fields are each their own item's error, never a 500, on both stores."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from simgate.store.tables import contacts, messages
from tests.support.servers import LiveServer

GOOD = {"phone_number": "+33612345678", "message": "neighbour"}


@pytest.fixture
def owner(shared_account: dict[str, Any]) -> dict[str, Any]:
    return shared_account


def post(server: LiveServer, path: str, body: dict[str, Any]) -> Any:
    response = server.post(path, json=body)
    assert response.headers["content-type"] == "application/json", response.text
    return response


def sendsms(server: LiveServer, owner: dict[str, Any], items: list[Any]) -> list[Any]:
    header = {"login": owner["login"], "accessKey": owner["accessKey"]}
    response = post(server, "/api/v1/sendsms", {"header": header, "messages": items})
    assert response.status_code == 200, response.text
    answers: list[Any] = response.json()
    return answers


def stored_texts(server: LiveServer, account_id: int) -> list[str]:
    with server.engine.connect() as conn:
        return list(
            conn.execute(
                select(messages.c.message).where(messages.c.account_id == account_id)
            ).scalars()
        )


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("date_to_send", "0001-01-01 00:00:00", "#004"),
        ("date_to_send", "9999-12-31T23:59:59-05:00", "#004"),
        ("date_to_send", "9999-12-31 23:59:59", "#004"),
        ("priorite", "1" + "0" * 4999, "#005"),
        ("priorite", "\u00b2", "#005"),
        ("priority", "\u0661", "#005"),
        ("url", "http://[x", "#006"),
        ("url", "http://example.com:99999999/", "#006"),
        ("url", "https://example.com/\u0000", "#006"),
        ("message", "nul \u0000 byte", "#011"),
    ],
)
def test_a_bad_field_is_its_own_message_error_and_the_neighbours_are_stored(
    shared_server: LiveServer, owner: dict[str, Any], field: str, value: str, code: str
) -> None:
    bad = {"phone_number": "+33698765432", "message": "bad one", field: value}
    answers = sendsms(shared_server, owner, [GOOD, bad, GOOD])
    assert [a["sent"] for a in answers] == [1, 0, 1]
    assert answers[1]["errors"] == [code]
    assert stored_texts(shared_server, owner["id"]) == ["neighbour", "neighbour"]


@pytest.mark.parametrize(
    ("text", "parts", "code"),
    [
        ("a" * 39_015, 255, None),  # 255 parts of 153 GSM-7 septets: the longest SMS
        ("a" * 39_016, 256, "#010"),
        ("€" * 19_380, 255, None),  # € costs two septets, never split: 76 a part
        ("€" * 19_381, 256, "#010"),
        ("ж" * 17_085, 255, None),  # 255 parts of 67 UCS-2 code units
        ("ж" * 17_086, 256, "#010"),
        ("😀" * 8_415, 255, None),  # a surrogate pair is never split: 33 a part
        ("😀" * 8_416, 256, "#010"),
        ("x" * 1_100_000, 0, "#010"),  # the 7,190-part message that stopped an account
    ],
)
def test_a_message_longer_than_an_sms_can_be_is_refused_alone(
    shared_server: LiveServer, owner: dict[str, Any], text: str, parts: int, code: str | None
) -> None:
    answers = sendsms(shared_server, owner, [{"phone_number": "+33698765432", "message": text},
                                             GOOD])
    assert answers[1]["sent"] == 1
    if code is None:
        assert (answers[0]["sent"], answers[0]["sms_per_message"]) == (1, parts)
    else:
        assert (answers[0]["sent"], answers[0]["errors"]) == (0, [code])
        assert answers[0]["sms_per_message"] == parts


@pytest.mark.parametrize(
    "contact",
    [
        {"phone_number": "+33698765432", "firstname": "nul\u0000"},
        {"phone_number": "+33698765432", "lastname": "x" * 501},
        {"phone_number": "+33698765432", "adress": "\u0000"},
        {"phone_number": "+33698765432", "email": "a\u0000@b.fr"},
    ],
)
def test_a_contact_field_with_nul_or_too_long_is_that_contacts_error(
    shared_server: LiveServer, owner: dict[str, Any], contact: dict[str, Any]
) -> None:
    header = {"login": owner["login"], "accessKey": owner["accessKey"]}
    neighbour = {"phone_number": "+33612345678", "firstname": "Ann"}
    response = post(shared_server, "/api/v1/contact",
                    {"header": header, "contacts": [contact, neighbour]})
    assert response.status_code == 200
    failed, ok = response.json()["data"]["contact"]
    assert (failed["result"], failed["errors"]) == ("failed", ["#005"])
    assert ok["result"] == "success"
    with shared_server.engine.connect() as conn:
        numbers = conn.execute(
            select(contacts.c.phone_number).where(contacts.c.account_id == owner["id"])
        ).scalars().all()
    assert numbers == ["+33612345678"]


@pytest.mark.parametrize("login", ["a\u0000@example.com", "x" * 5000])
def test_a_login_no_account_can_have_is_refused_as_a_wrong_key(
    shared_server: LiveServer, login: str
) -> None:
    response = post(
        shared_server,
        "/api/v1/sendsms",
        {"header": {"login": login, "accessKey": "sgk_x"}, "messages": [GOOD]},
    )
    assert response.status_code == 401 and response.json()["errors"] == ["#102"]


def test_a_big_request_judged_before_the_writer_answers_like_a_small_one(
    shared_server: LiveServer, owner: dict[str, Any]
) -> None:
    # Over JUDGE_APART messages: judged first, then only inserted by the writer.
    items: list[Any] = [
        {"phone_number": f"+336{12000000 + i:08d}", "message": f"m{i}", "id_sms_api": f"big-{i}"}
        for i in range(1500)
    ]
    items[7] = {**items[7], "phone_number": "+33INVALID"}
    items[9] = {**items[8]}  # a repeat within the batch: the first one's answer
    answers = sendsms(shared_server, owner, items)
    assert len(answers) == 1500
    assert answers[7]["errors"] == ["#001"] and answers[9] == answers[8]
    assert sum(a["sent"] for a in answers) == 1499
    assert len(stored_texts(shared_server, owner["id"])) == 1498
    again = sendsms(shared_server, owner, items)  # repeated whole: the stored answers
    assert [a["sent"] for a in again] == [a["sent"] for a in answers]
    assert len(stored_texts(shared_server, owner["id"])) == 1498
