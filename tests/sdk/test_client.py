"""Every Client and AsyncClient method against the real server (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

import simgate
from simgate.services.accounts import create_account
from simgate.store.tables import contacts, messages
from tests.sdk.support import stored_ids
from tests.support.servers import LiveServer

ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
Call = Callable[..., Any]


@pytest.fixture
def server(shared_server: LiveServer) -> LiveServer:
    return shared_server  # one server per store for the module: each test has its own account


@pytest.fixture
def account(shared_account: dict[str, Any]) -> dict[str, Any]:
    return shared_account


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest, server: LiveServer, account: dict[str, Any]) -> Call:
    """call(method, *args, login=..., key=..., **client options): one call, sync or async."""

    def run(method: str, *args: Any, **kw: Any) -> Any:
        login = kw.pop("login", account["login"])
        key = kw.pop("key", account["accessKey"])
        kw.setdefault("base_url", server.url)
        if request.param == "sync":
            with simgate.Client(login, key, **kw) as client:
                return getattr(client, method)(*args)

        async def go() -> Any:
            async with simgate.AsyncClient(login, key, **kw) as client:
                return await getattr(client, method)(*args)

        return asyncio.run(go())

    return run


def test_send_sms_objects_and_dicts(
    call: Call, server: LiveServer, account: dict[str, Any]
) -> None:
    later = datetime.now(UTC) + timedelta(days=2)
    results = call(
        "send_sms",
        [
            simgate.Sms("+33612345678", "Hello [Lien_Tracking]", url="https://example.com/"),
            {"phone_number": "0698765432", "message": "Plain dict", "priorite": 3},
            simgate.Sms("+33612345678", "Later", date_to_send=later, priority=2),
            simgate.Sms("+33612345678", "Mine", id_sms_api="my-own.id:1"),
            {"phone_number": "+33INVALID", "message": "bad number"},
        ],
    )
    assert [r.sent for r in results] == [True, True, True, True, False]
    first = results[0]
    assert first.message.startswith("Hello http") and "example.com" not in first.message
    assert first.user == account["login"] and first.sms_per_message == 1
    assert first.sent_time is not None and first.sent_time.tzinfo is not None
    assert abs(first.sent_time - datetime.now(UTC)) < timedelta(minutes=1)
    assert results[1].phone_number == "+33698765432"  # national number, account region FR
    assert all(ID_RE.match(r.id_sms_api) for r in results)
    assert results[3].id_sms_api == "my-own.id:1"
    assert results[4].errors == ["#001"] and results[4].sent is False
    accepted = sorted(r.id_sms_api for r in results[:4])
    assert stored_ids(server.engine, account["id"]) == accepted

    with server.engine.connect() as conn:
        rows = {
            r.id_sms_api: r
            for r in conn.execute(select(messages).where(messages.c.account_id == account["id"]))
        }
    assert rows[results[1].id_sms_api].priority == 3
    assert rows[results[2].id_sms_api].state == "scheduled"
    send_at = rows[results[2].id_sms_api].send_at.replace(tzinfo=UTC)
    assert abs(send_at - later) < timedelta(seconds=1)


def test_naive_date_is_account_local_and_repeat_is_stored_answer(
    call: Call, server: LiveServer, account: dict[str, Any]
) -> None:
    local = (datetime.now(ZoneInfo("Europe/Paris")) + timedelta(days=1)).replace(
        tzinfo=None, microsecond=0
    )
    sms = simgate.Sms("+33612345678", "Tomorrow", date_to_send=local, id_sms_api="rep-1")
    first = call("send_sms", sms)
    again = call("send_sms", [sms])  # same id, same content: the stored answer
    assert first[0].sent and again[0].sent
    assert (again[0].id_sms_api, again[0].message) == (first[0].id_sms_api, first[0].message)
    changed = call("send_sms", [simgate.Sms("+33612345678", "Other", id_sms_api="rep-1")])
    assert changed[0].sent is False and changed[0].errors == ["#007"]
    with server.engine.connect() as conn:
        row = conn.execute(
            select(messages.c.send_at).where(messages.c.account_id == account["id"])
        ).one()
    expected = local.replace(tzinfo=ZoneInfo("Europe/Paris")).astimezone(UTC)
    assert row.send_at.replace(tzinfo=UTC) == expected


def test_add_contacts_reads_both_spellings(
    call: Call, server: LiveServer, account: dict[str, Any]
) -> None:
    results = call(
        "add_contacts",
        [
            simgate.Contact("+33612345678", "Zoé", "Dupont", "1 rue de la Paix", "zoe@example.com"),
            {"firstname": "Jane", "lastname": "Smith", "phone_number": "+33INVALID"},
            simgate.Contact("0698765432", "Bad", "Mail", email="not-an-email"),
        ],
    )
    ok, bad, warned = results
    assert ok.ok and (ok.first_name, ok.last_name) == ("Zoé", "Dupont")
    assert ok.phone_number == "+33612345678"
    assert ok.address == "1 rue de la Paix" and ok.errors == []
    assert not bad.ok and bad.first_name == "Jane" and bad.phone_number == "+33INVALID"
    assert bad.errors == ["#001"]
    assert warned.ok and warned.errors == ["#004"] and warned.phone_number == "+33698765432"
    with server.engine.connect() as conn:
        numbers = sorted(
            conn.execute(
                select(contacts.c.phone_number).where(contacts.c.account_id == account["id"])
            ).scalars()
        )
    assert numbers == ["+33612345678", "+33698765432"]


class RecordingDialer:
    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []

    async def dial(self, account_id: int, phone_number: str) -> bool:
        self.calls.append((account_id, phone_number))
        return True


def test_click_to_call(call: Call, server: LiveServer, account: dict[str, Any]) -> None:
    offline = call("click_to_call", "+33612345678")
    assert isinstance(offline, simgate.CallResult)
    assert not offline.ok and offline.errors == ["#002"] and offline.info

    invalid = call("click_to_call", "not a number")
    assert not invalid.ok and invalid.errors == ["#003"]

    # A phone online: stand in for the device hub, which has its own tests.
    dialer = RecordingDialer()
    hub, server.runtime.dialer = server.runtime.dialer, dialer
    try:
        online = call("click_to_call", "06 12 34 56 78")
    finally:
        server.runtime.dialer = hub
    assert online.ok and online.errors == [] and online.result == "success"
    assert dialer.calls == [(account["id"], "+33612345678")]


def test_whole_request_errors(call: Call, server: LiveServer, account: dict[str, Any]) -> None:
    for method, arg in [
        ("send_sms", [simgate.Sms("+33612345678", "x")]),
        ("add_contacts", [simgate.Contact("+33612345678")]),
        ("click_to_call", "+33612345678"),
    ]:
        with pytest.raises(simgate.AuthenticationError) as caught:
            call(method, arg, key="wrong-key")
        assert caught.value.code == "#102" and caught.value.status_code == 401
        assert caught.value.info and "wrong-key" not in str(caught.value)
    with pytest.raises(simgate.AuthenticationError):
        call("send_sms", [], login="nobody@example.com")
    assert stored_ids(server.engine, account["id"]) == []

    # Not a simgate at this path: a 404 without the documented body.
    with pytest.raises(simgate.ApiError) as caught_404:
        call("send_sms", [], base_url=server.url + "/nothing-here")
    assert caught_404.value.status_code == 404 and caught_404.value.code is None


def test_too_many_messages(settings: Any) -> None:
    with LiveServer(settings, max_messages_per_request=2) as small:
        acc, key = create_account(small.engine, "small@example.com")
        with simgate.Client(acc.email, key, base_url=small.url) as client:
            with pytest.raises(simgate.PayloadTooLarge) as caught:
                client.send_sms([simgate.Sms("+33612345678", str(i)) for i in range(3)])
    assert caught.value.code == "#104" and caught.value.status_code == 413
    assert "2" in caught.value.info
