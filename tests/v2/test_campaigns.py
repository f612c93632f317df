"""v2 campaigns over HTTP and through the official client, on both stores:
recipients fixed when made, real sends when started (a simulated phone sends
them and the status webhooks fire), cancel stops what no phone holds yet."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, update

from simgate.domain.dates import utcnow
from simgate.services.devices import add_device
from simgate.services.webhook_admin import set_callbacks
from simgate.store.tables import link_clicks, messages, webhooks
from tests.support.agents import Agent
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.support.v2 import call, insim, insim_json, ok, other_account, refused
from tests.v2.rows import add_contact, add_list, campaign_messages, set_state
from tests.webhooks.conftest import Recorder

NUMBERS = ["+33611000001", "0611000002", "+33 6 11 00 00 03"]
E164 = ["+33611000001", "+33611000002", "+33611000003"]


def create(server: LiveServer, account: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = ok(server.url, account, "campaigns/create", **{"name": "C", "message": "Hi", **fields})
    campaign: dict[str, Any] = body["campaign"]
    assert body["campaign_id"] == campaign["campaign_id"] == campaign["id"]
    return campaign


def detail(server: LiveServer, account: dict[str, Any], cid: str) -> dict[str, Any]:
    campaign: dict[str, Any] = ok(server.url, account, "campaigns/detail", campaign_id=cid)[
        "campaign"
    ]
    return campaign


def test_create_from_numbers_in_any_format(server: LiveServer, account: dict[str, Any]) -> None:
    campaign = create(
        server, account, phone_numbers=[*NUMBERS, "+33611000001", "12", "call me"], priority=3
    )
    assert campaign["recipients"] == 3 and campaign["status"] == 0
    assert campaign["status_label"] == "ready" and campaign["priority"] == 3
    assert [r["recipient"] for r in campaign["refused"]] == ["12", "call me"]
    assert {r["field"] for r in campaign["refused"]} == {"phone_numbers"}
    for key in ("sent", "delivered", "failed", "pending", "clicks", "recipients", "status"):
        assert isinstance(campaign[key], int) and not isinstance(campaign[key], bool), key
    assert isinstance(campaign["created"], str) and campaign["started"] is None


def test_create_from_a_list_and_contact_ids(server: LiveServer, account: dict[str, Any]) -> None:
    engine, mine = server.engine, account["id"]
    alive = add_contact(engine, mine, "+33622000001", firstname="A")
    gone = add_contact(engine, mine, "+33622000002", deleted=True)
    other = add_contact(engine, mine, "+33622000003")
    theirs = add_contact(engine, other_account(server)["id"], "+33622000004")
    list_id = add_list(engine, mine, "VIP", [alive, gone])
    campaign = create(
        server,
        account,
        list_id=str(list_id),
        contact_ids=[str(alive), str(other), str(gone), str(theirs), "x1"],
        phone_numbers=["+33622000003", "0622000005"],
    )
    assert campaign["list_id"] == str(list_id)
    assert campaign["recipients"] == 3  # alive, other, 0622000005: each once
    assert sorted(r["recipient"] for r in campaign["refused"]) == sorted(
        [str(gone), str(theirs), "x1"]
    )
    ok(server.url, account, "campaigns/start", campaign_id=campaign["id"])
    numbers = sorted(m.phone_number for m in campaign_messages(engine, int(campaign["id"])))
    assert numbers == ["+33622000001", "+33622000003", "+33622000005"]


def test_no_recipient_and_nothing_valid(server: LiveServer, account: dict[str, Any]) -> None:
    empty = create(server, account, contact_ids=[])
    assert empty["status"] == 2 and empty["status_label"] == "no recipients"
    body = refused(
        server.url, account, "campaigns/start", 409, "INVALID_STATE", campaign_id=empty["id"]
    )
    assert body["field"] == "campaign_id"
    nothing = refused(
        server.url,
        account,
        "campaigns/create",
        422,
        "VALIDATION_ERROR",
        name="N",
        message="M",
        phone_numbers=["12", "x"],
    )
    assert nothing["field"] == "phone_numbers"
    no_source = refused(
        server.url, account, "campaigns/create", 422, "MISSING_FIELD", name="N", message="M"
    )
    assert no_source["field"] == "list_id"
    # A campaign with no recipient can still be cancelled (a sibling client says so).
    cancelled = ok(server.url, account, "campaigns/cancel", campaign_id=empty["id"])
    assert cancelled["campaign"]["status"] == 4


@pytest.mark.parametrize(
    ("fields", "status", "code", "field"),
    [
        ({"message": "M"}, 422, "MISSING_FIELD", "name"),
        ({"name": "N"}, 422, "MISSING_FIELD", "message"),
        ({"name": "N", "message": "[link]"}, 422, "MISSING_FIELD", "message"),
        ({"name": "N", "message": "M", "priority": "high"}, 422, "VALIDATION_ERROR", "priority"),
        ({"name": "N", "message": "M", "priority": 5000}, 422, "VALIDATION_ERROR", "priority"),
        ({"name": "N", "message": "M", "url": "ftp://x"}, 422, "VALIDATION_ERROR", "url"),
        ({"name": "N", "message": "M", "date_to_send": "soon"}, 422, "VALIDATION_ERROR",
         "date_to_send"),
        ({"name": "N", "message": "M", "phone_numbers": "+33611"}, 422, "VALIDATION_ERROR",
         "phone_numbers"),
        ({"name": "N", "message": "M", "phone_numbers": [1]}, 422, "VALIDATION_ERROR",
         "phone_numbers"),
        ({"name": "N", "message": "M", "contact_ids": [{}]}, 422, "VALIDATION_ERROR",
         "contact_ids"),
        ({"name": "N", "message": "M", "list_id": "999999"}, 404, "NOT_FOUND", "list_id"),
        ({"name": "N", "message": "M", "list_id": "abc"}, 404, "NOT_FOUND", "list_id"),
        ({"name": "N", "template_id": "999999", "contact_ids": []}, 404, "NOT_FOUND",
         "template_id"),
    ],
)  # fmt: skip
def test_create_refuses(
    server: LiveServer,
    account: dict[str, Any],
    fields: dict[str, Any],
    status: int,
    code: str,
    field: str,
) -> None:
    fields = {"phone_numbers": ["+33611000001"], **fields}
    body = refused(server.url, account, "campaigns/create", status, code, **fields)
    assert body["field"] == field


def test_another_accounts_list_and_ids(server: LiveServer, account: dict[str, Any]) -> None:
    stranger = other_account(server)
    their_list = add_list(server.engine, stranger["id"], "theirs", [])
    body = refused(
        server.url,
        account,
        "campaigns/create",
        404,
        "NOT_FOUND",
        name="N",
        message="M",
        list_id=str(their_list),
    )
    assert body["field"] == "list_id"
    theirs = create(server, stranger, phone_numbers=["+33611000001"])
    for endpoint in ("campaigns/detail", "campaigns/start", "campaigns/cancel"):
        for cid in (theirs["id"], "999999999", "nope"):
            got = refused(server.url, account, endpoint, 404, "NOT_FOUND", campaign_id=cid)
            assert got["field"] == "campaign_id"
        got = refused(server.url, account, endpoint, 422, "MISSING_FIELD")
        assert got["field"] == "campaign_id"


def test_start_sends_through_the_send_path(server: LiveServer, account: dict[str, Any]) -> None:
    campaign = create(
        server,
        account,
        phone_numbers=NUMBERS,
        priority=7,
        message="Offre [link]",
        url="https://example.com/o",
    )
    cid = campaign["id"]
    started = ok(server.url, account, "campaigns/start", campaign_id=cid)
    assert started["queued"] == 3 and started["refused"] == []
    assert started["campaign"]["status"] == 1 and started["campaign"]["pending"] == 3
    assert isinstance(started["campaign"]["started"], str)
    rows = campaign_messages(server.engine, int(cid))
    assert sorted(r.phone_number for r in rows) == E164
    assert all(r.priority == 7 and r.state == "queued" for r in rows)
    links = {r.message.split()[-1] for r in rows}
    assert len(links) == 3 and all(link.startswith("http") for link in links)  # one link each
    again = refused(server.url, account, "campaigns/start", 409, "INVALID_STATE", campaign_id=cid)
    assert "sending" in again["error"]

    # Counts come from the messages: two sent (one of them delivered), one failed.
    with server.engine.begin() as conn:
        ids = [
            m.id
            for m in conn.execute(
                select(messages.c.id)
                .where(messages.c.campaign_id == int(cid))
                .order_by(messages.c.id)
            )
        ]
        now = utcnow()
        conn.execute(
            update(messages)
            .where(messages.c.id == ids[0])
            .values(state="received", sent_at=now, delivered_at=now)
        )
        conn.execute(
            update(messages).where(messages.c.id == ids[1]).values(state="sent", sent_at=now)
        )
        conn.execute(
            insert(link_clicks),
            [{"message_id": ids[0], "clicked_at": now, "is_preview": False}] * 2,
        )
    middle = detail(server, account, cid)
    assert (middle["sent"], middle["delivered"], middle["failed"], middle["pending"]) == (
        2,
        1,
        0,
        1,
    )
    assert middle["clicks"] == 2 and middle["status"] == 1 and middle["completed"] is None
    with server.engine.begin() as conn:
        conn.execute(
            update(messages)
            .where(messages.c.id == ids[2])
            .values(state="failed", failed_at=utcnow())
        )
    done = detail(server, account, cid)
    assert done["status"] == 3 and done["status_label"] == "completed"
    assert isinstance(done["completed"], str) and done["failed"] == 1
    body = refused(server.url, account, "campaigns/cancel", 409, "INVALID_STATE", campaign_id=cid)
    assert body["field"] == "campaign_id"


def test_a_template_campaign_is_personal(server: LiveServer, account: dict[str, Any]) -> None:
    engine, mine = server.engine, account["id"]
    ann = add_contact(engine, mine, "+33633000001", firstname="Ann", custom={"shop": "Lyon"})
    nameless = add_contact(engine, mine, "+33633000002")
    tid = ok(
        server.url,
        account,
        "templates/create",
        name="T",
        message="Hello {firstname} from {custom.shop}",
    )["template_id"]
    campaign = create(
        server, account, message="", template_id=tid, contact_ids=[str(ann), str(nameless)]
    )
    assert campaign["recipients"] == 1 and campaign["template_id"] == tid
    [why] = campaign["refused"]
    assert why["recipient"] == "+33633000002" and why["field"] == "firstname"
    both = refused(
        server.url,
        account,
        "campaigns/create",
        422,
        "VALIDATION_ERROR",
        name="N",
        message="M",
        template_id=tid,
        contact_ids=[str(ann)],
    )
    assert both["field"] == "template_id"
    ok(server.url, account, "campaigns/start", campaign_id=campaign["id"])
    [row] = campaign_messages(engine, int(campaign["id"]))
    assert row.message == "Hello Ann from Lyon"


def test_cancel_stops_what_no_phone_holds(server: LiveServer, account: dict[str, Any]) -> None:
    hooks = "http://127.0.0.1:9/status"
    set_callbacks(server.engine, account["login"], {"status": hooks}, allow_private=True)
    later = (utcnow() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    campaign = create(server, account, phone_numbers=NUMBERS, date_to_send=later)
    cid = int(campaign["id"])
    ok(server.url, account, "campaigns/start", campaign_id=campaign["id"])
    rows = campaign_messages(server.engine, cid)
    assert {r.state for r in rows} == {"scheduled"}
    # One is with a phone already: it goes on.
    with server.engine.begin() as conn:
        held = conn.execute(
            select(messages.c.id)
            .where(messages.c.campaign_id == cid)
            .order_by(messages.c.id)
            .limit(1)
        ).scalar_one()
        conn.execute(update(messages).where(messages.c.id == held).values(state="dispatched"))
    body = ok(server.url, account, "campaigns/cancel", campaign_id=campaign["id"])
    assert body["stopped"] == 2 and body["campaign"]["status"] == 4
    assert isinstance(body["campaign"]["cancelled"], str)
    assert body["campaign"]["failed"] == 2 and body["campaign"]["pending"] == 1
    states = sorted((r.state, r.fail_reason) for r in campaign_messages(server.engine, cid))
    assert states == [("dispatched", None)] + [("failed", "campaign cancelled")] * 2
    with server.engine.connect() as conn:
        queued = [
            r.payload
            for r in conn.execute(
                select(webhooks.c.payload).where(webhooks.c.account_id == account["id"])
            )
        ]
    assert len(queued) == 2 and all('"status":"failed"' in p for p in queued)
    again = refused(
        server.url, account, "campaigns/cancel", 409, "INVALID_STATE", campaign_id=campaign["id"]
    )
    assert "cancelled" in again["error"]
    refused(
        server.url, account, "campaigns/start", 409, "INVALID_STATE", campaign_id=campaign["id"]
    )


def test_list_newest_first_in_pages(server: LiveServer, account: dict[str, Any]) -> None:
    made = [create(server, account, name=f"c{i}", phone_numbers=[E164[i]])["id"] for i in range(3)]
    ok(server.url, account, "campaigns/start", campaign_id=made[0])
    set_state(server.engine, int(made[0]), "received")
    first = ok(server.url, account, "campaigns", limit=2)
    assert [c["id"] for c in first["campaigns"]] == made[:0:-1]
    assert first["has_more"] is True
    second = ok(server.url, account, "campaigns", limit=2, cursor=first["next_cursor"])
    [oldest] = second["campaigns"]
    assert oldest["id"] == made[0] and second["next_cursor"] is None and not second["has_more"]
    assert (oldest["sent"], oldest["delivered"], oldest["status"]) == (1, 1, 3)
    for bad, field in (
        ({"limit": 0}, "limit"),
        ({"limit": "5"}, "limit"),
        ({"cursor": "x"}, "cursor"),
    ):
        body = refused(server.url, account, "campaigns", 422, "VALIDATION_ERROR", **bad)
        assert body["field"] == field


@pytest.mark.client_side
def test_official_client(server: LiveServer, account: dict[str, Any], tmp_path: Path) -> None:
    mine = account["id"]
    contact = add_contact(server.engine, mine, "+33644000001", firstname="Zoé")
    list_id = add_list(server.engine, mine, "L", [contact])
    created = insim_json(
        server.url,
        account,
        "campaigns",
        "create",
        "--name",
        "Soldes",
        "--message",
        "-20 % ce week-end",
        "--list",
        str(list_id),
        "--contacts",
        f"{contact}, ",
        "--phones",
        "0644000002,+33644000003",
        "--priority",
        "2",
        home=tmp_path,
    )
    cid = created["campaign_id"]
    assert isinstance(cid, str) and created["campaign"]["recipients"] == 3
    said = insim(
        server.url,
        account,
        "campaigns",
        "create",
        "--name",
        "Deux",
        "--message",
        "x",
        "--phones",
        "0644000004",
        home=tmp_path,
        json_mode=False,
    )
    assert said.returncode == 0 and "Campaign 'Deux' created" in said.stdout, said.stderr

    listed = insim_json(server.url, account, "campaigns", "list", home=tmp_path)
    for c in listed["campaigns"]:
        assert isinstance(c["name"], str) and isinstance(c["status"], int)
        assert isinstance(c["sent"], int) and isinstance(c["created"], str)
    table = insim(server.url, account, "campaigns", "list", home=tmp_path, json_mode=False)
    assert table.returncode == 0 and "Soldes" in table.stdout, table.stderr

    shown = insim_json(server.url, account, "campaigns", "detail", cid, home=tmp_path)
    assert shown["campaign"]["recipients"] == 3 and shown["campaign"]["status"] == 0
    human = insim(server.url, account, "campaigns", "detail", cid, home=tmp_path, json_mode=False)
    assert human.returncode == 0 and "recipients: 3" in human.stdout, human.stdout

    declined = insim(
        server.url, account, "campaigns", "start", cid, home=tmp_path, json_mode=False, stdin="n\n"
    )
    assert declined.returncode == 1 and detail(server, account, cid)["status"] == 0
    started = insim(
        server.url, account, "campaigns", "start", cid, "--confirm", home=tmp_path, json_mode=False
    )
    assert started.returncode == 0 and "Campaign launched" in started.stdout, started.stderr
    assert len(campaign_messages(server.engine, int(cid))) == 3
    again = insim(
        server.url, account, "campaigns", "start", cid, "--confirm", home=tmp_path, json_mode=False
    )
    assert again.returncode == 1 and "Error [INVALID_STATE]" in again.stderr

    cancelled = insim_json(
        server.url, account, "campaigns", "cancel", cid, "--confirm", home=tmp_path
    )
    assert cancelled["campaign"]["status"] == 4 and cancelled["stopped"] == 3
    gone = insim(
        server.url,
        account,
        "campaigns",
        "cancel",
        "999999",
        "--confirm",
        home=tmp_path,
        json_mode=False,
    )
    assert gone.returncode == 1 and "Error [NOT_FOUND]" in gone.stderr
    assert "Field: campaign_id" in gone.stderr


def status_hooks(receiver: Recorder) -> list[dict[str, Any]]:
    import json

    found = []
    for request in receiver.acked():
        query = parse_qs(urlsplit(request["target"]).query)
        if "status" in query:
            found.append(json.loads(query["status"][0]))
    return found


@pytest.mark.e2e
def test_a_phone_sends_a_started_campaign_and_not_a_cancelled_one(
    server: LiveServer, account: dict[str, Any], tmp_path: Path
) -> None:
    receiver = Recorder().start()
    agent: Agent | None = None
    try:
        set_callbacks(
            server.engine, account["login"], {"status": receiver.url + "/hook"}, allow_private=True
        )
        _, token = add_device(server.engine, account["login"], "phone", 6000)
        # No phone online yet: the cancelled campaign's messages wait in the queue.
        stopped = create(
            server, account, name="stopped", phone_numbers=["+33655000001", "+33655000002"]
        )
        ok(server.url, account, "campaigns/start", campaign_id=stopped["id"])
        ok(server.url, account, "campaigns/cancel", campaign_id=stopped["id"])
        stopped_ids = {r.id_sms_api for r in campaign_messages(server.engine, int(stopped["id"]))}

        agent = Agent(
            server.url,
            token,
            tmp_path / "phone",
            "--sent-delay",
            "0.02",
            "--delivery-delay",
            "0.02",
        ).start()
        sent = create(server, account, name="sent", phone_numbers=NUMBERS)
        ok(server.url, account, "campaigns/start", campaign_id=sent["id"])
        sent_ids = {r.id_sms_api for r in campaign_messages(server.engine, int(sent["id"]))}

        def settled() -> bool:
            hooks = status_hooks(receiver)
            delivered = {h["id_sms_api"] for h in hooks if h["status"] == "received"}
            failed = {h["id_sms_api"] for h in hooks if h["status"] == "failed"}
            return delivered == sent_ids and failed == stopped_ids

        # The phone's log too: it is written after the send it records.
        wait_for(lambda: settled() and len(agent.sent()) >= len(sent_ids), timeout=90)
        final = detail(server, account, sent["id"])
        assert (final["sent"], final["delivered"], final["status"]) == (3, 3, 3)
        with server.engine.connect() as conn:
            ids = {
                r.id: r.id_sms_api
                for r in conn.execute(
                    select(messages.c.id, messages.c.id_sms_api).where(
                        messages.c.account_id == account["id"]
                    )
                )
            }
        phone_sent = {ids[int(i)] for i in agent.sent() if int(i) in ids}
        assert phone_sent == sent_ids  # nothing of the cancelled campaign
        hooks = status_hooks(receiver)
        for sms_id in sent_ids:
            # Delivered at least once each, in any order (the sender works in parallel).
            assert {h["status"] for h in hooks if h["id_sms_api"] == sms_id} == {"sent", "received"}
    finally:
        if agent is not None:
            agent.kill()
        receiver.stop()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=3),
    max_leaves=6,
)  # fmt: skip
CREATE_FIELDS = ["name", "message", "priority", "list_id", "contact_ids", "phone_numbers", "url",
                 "template_id", "date_to_send"]  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(st.sampled_from(CREATE_FIELDS), json_values, max_size=4))
def test_any_create_body_is_answered_never_a_crash(
    server: LiveServer, account: dict[str, Any], fields: dict[str, Any]
) -> None:
    body = {"name": "N", "message": "M", "phone_numbers": ["+33611000001"], **fields}
    response = call(server.url, account, "campaigns/create", **body)
    answer = response.json()
    assert response.status_code in (200, 404, 422), (body, answer)
    assert answer["success"] is (response.status_code == 200)
    if response.status_code != 200:
        assert answer["error_code"] in ("NOT_FOUND", "MISSING_FIELD", "VALIDATION_ERROR")
        assert answer["field"] in CREATE_FIELDS, answer


@pytest.mark.parametrize(
    ("endpoint", "field", "value"),
    [
        ("campaigns/detail", "campaign_id", 2**31),
        ("campaigns/start", "campaign_id", "2147483648"),
        ("templates/send", "template_id", 2**31),
        ("qualifications/options/delete", "option_id", 2**31),
        ("calls/qualify", "call_id", 2**62),
    ],
)
def test_ids_past_their_columns_range_are_not_found(
    server: LiveServer, account: dict[str, Any], endpoint: str, field: str, value: Any
) -> None:
    """PostgreSQL refuses to compare an INTEGER key with 2**31 (found by the
    property test below): such an id names no row, whatever the store."""
    body = {field: value, "recipients": ["+33612345678"], "option_id": 1}
    response = call(server.url, account, endpoint, **body)
    assert response.status_code == 404, response.text
    assert response.json()["field"] == field


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(json_values, json_values)
def test_any_id_is_answered_never_a_crash(
    server: LiveServer, account: dict[str, Any], campaign_id: Any, template_id: Any
) -> None:
    for endpoint, fields in (
        ("campaigns/detail", {"campaign_id": campaign_id}),
        ("campaigns/start", {"campaign_id": campaign_id}),
        ("templates/send", {"template_id": template_id, "recipients": campaign_id}),
    ):
        response = call(server.url, account, endpoint, **fields)
        assert response.status_code in (404, 422), (endpoint, fields, response.text)
        assert response.json()["field"] in ("campaign_id", "template_id", "recipients")
