"""services/dashboard/ on both stores: counts, filters, timelines, links, contacts,
call qualification (with its outbox row) and the delivery log."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update

from simgate._wire import WEBHOOK_KINDS
from simgate.domain.dates import utcnow
from simgate.errors import NotFound
from simgate.services import dashboard
from simgate.services.accounts import Account, create_account
from simgate.store.tables import (
    accounts,
    calls,
    contacts,
    devices,
    link_clicks,
    message_events,
    messages,
    webhooks,
)
from tests.integration.conftest import message_row

NOW = datetime(2026, 3, 11, 14, 20)  # a Wednesday; 15:20 in Paris


@pytest.fixture
def owner(engine: Engine) -> Account:
    account, _ = create_account(engine, "owner@example.com", "Europe/Paris", "FR")
    return account


def add_message(engine: Engine, account: Account, **values: Any) -> int:
    name = values.pop("id_sms_api", f"id{datetime.now().timestamp()}{len(values)}")
    hour_ago = NOW - timedelta(hours=1)
    row = message_row(account.id, name, **({"send_at": hour_ago, "created_at": hour_ago} | values))
    with engine.begin() as conn:
        return int(conn.execute(insert(messages).values(**row)).inserted_primary_key[0])


def test_overview_counts_today_week_and_hours(engine: Engine, owner: Account) -> None:
    hour = NOW.replace(minute=0)
    monday = NOW - timedelta(days=2)
    saturday = NOW - timedelta(days=4)  # last week
    for name, created, state, times in (
        ("a", hour, "received", {"sent_at": hour, "delivered_at": hour}),
        ("b", hour - timedelta(hours=2), "sent", {"sent_at": hour}),
        ("c", hour, "failed", {"failed_at": hour}),  # refused before sending
        ("d", hour, "failed", {"sent_at": hour, "failed_at": hour}),  # failed DLR
        ("e", monday, "received", {"sent_at": monday, "delivered_at": monday}),
        ("f", saturday, "received", {"sent_at": NOW, "delivered_at": NOW}),
        ("g", hour, "queued", {}),
        ("h", hour, "scheduled", {}),
    ):
        add_message(engine, owner, id_sms_api=name, created_at=created, state=state, **times)
    other, _ = create_account(engine, "other@example.com")
    add_message(
        engine,
        other,
        id_sms_api="x",
        state="received",
        created_at=hour,
        sent_at=hour,
        delivered_at=hour,
    )
    with engine.begin() as conn:
        conn.execute(
            insert(devices).values(
                account_id=owner.id,
                name="p",
                token_hash="t1",
                rate_per_minute=30,
                created_at=NOW,
                online_node="node-1",
                last_seen_at=utcnow(),  # a node marks its phones seen at each heartbeat
            )
        )
        conn.execute(
            insert(devices).values(
                account_id=owner.id, name="q", token_hash="t2", rate_per_minute=30, created_at=NOW
            )
        )

    data = dashboard.overview.overview(engine, owner, NOW)
    # Messages accepted today, by what became of them ("f" was accepted last week).
    assert (data.today.sent, data.today.delivered, data.today.failed) == (3, 1, 2)
    assert data.today.rate == pytest.approx(1 / 3)
    assert (data.week.sent, data.week.delivered, data.week.failed) == (4, 2, 2)
    assert (data.phones_online, data.phones, data.waiting) == (1, 2, 2)
    assert len(data.hours) == 24 and data.hours[-1] == (hour, 2, 1)
    assert data.hours[-3] == (hour - timedelta(hours=2), 1, 0)
    assert sum(s for _, s, _ in data.hours) == 3


def test_an_empty_account_has_no_rate(engine: Engine, owner: Account) -> None:
    data = dashboard.overview.overview(engine, owner, NOW)
    assert data.today.sent == 0 and data.today.rate is None
    assert all(s == d == 0 for _, s, d in data.hours)


def test_message_filters_and_pages(engine: Engine, owner: Account) -> None:
    for i in range(55):
        add_message(
            engine,
            owner,
            id_sms_api=f"m{i}",
            phone_number=f"+336123456{i:02d}",
            state="received" if i % 2 else "failed",
            created_at=NOW - timedelta(days=i),
        )
    first = dashboard.messages.list_messages(engine, owner.id, dashboard.messages.MessageFilter())
    assert len(first.rows) == 50 and first.has_next and first.rows[0].id_sms_api == "m0"
    second = dashboard.messages.list_messages(
        engine, owner.id, dashboard.messages.MessageFilter(), first.after or ""
    )
    assert len(second.rows) == 5 and not second.has_next
    by_number = dashboard.messages.list_messages(
        engine, owner.id, dashboard.messages.MessageFilter(number="06 12 34 56 07")
    )
    assert [r.id_sms_api for r in by_number.rows] == ["m7"]
    failed = dashboard.messages.list_messages(
        engine, owner.id, dashboard.messages.MessageFilter(state="failed")
    )
    assert {r.state for r in failed.rows} == {"failed"}
    window = dashboard.messages.MessageFilter(since=NOW - timedelta(days=3, hours=1), until=NOW)
    dated = dashboard.messages.list_messages(engine, owner.id, window)
    assert [r.id_sms_api for r in dated.rows] == ["m1", "m2", "m3"]
    assert dashboard.messages.list_messages(
        engine, owner.id, dashboard.messages.MessageFilter(number="%")
    ).rows


def test_message_detail_timeline_and_clicks(engine: Engine, owner: Account) -> None:
    message_id = add_message(
        engine,
        owner,
        state="received",
        short_code="abcdefghijk",
        url="https://example.com/",
        dispatched_at=NOW,
        sent_at=NOW + timedelta(seconds=1),
        delivered_at=NOW + timedelta(seconds=3),
    )
    with engine.begin() as conn:
        conn.execute(
            insert(message_events).values(
                message_id=message_id,
                at=NOW + timedelta(milliseconds=500),
                state="queued",
                detail="lease expired, sent again",
            )
        )
        conn.execute(
            insert(link_clicks),
            [
                {
                    "message_id": message_id,
                    "account_id": owner.id,
                    "clicked_at": NOW + timedelta(minutes=5),
                    "user_agent": "Mozilla",
                    "is_preview": False,
                },
                {
                    "message_id": message_id,
                    "account_id": owner.id,
                    "clicked_at": NOW + timedelta(minutes=4),
                    "user_agent": "WhatsApp",
                    "is_preview": True,
                },
            ],
        )
    detail = dashboard.messages.message_detail(engine, owner.id, message_id)
    assert detail.final
    assert [state for _, state, _ in detail.timeline] == [
        "created",
        "dispatched",
        "queued",
        "sent",
        "received",
    ]
    assert detail.timeline[2][2] == "lease expired, sent again"
    assert [c.is_preview for c in detail.clicks] == [False, True]
    other, _ = create_account(engine, "other@example.com")
    with pytest.raises(NotFound):
        dashboard.messages.message_detail(engine, other.id, message_id)
    links = dashboard.links.list_links(engine, owner.id)
    assert [(r.people, r.previews) for r in links.rows] == [(1, 1)]
    assert dashboard.links.link_totals(engine, owner.id) == (1, 1)
    assert dashboard.links.link_totals(engine, other.id) == (0, 0)


CSV = (
    "\ufeffPhone Number,First Name,Last Name,E-mail,Adress\n"
    "0612345678,Ada,Lovelace,ada@example.com,London\n"
    "\n"
    "+33698765432,Alan,Turing,alan@example,\n"
    "12,Bad,Row,,\n"
    '0611223344,=HYPERLINK("x"),Hopper,,\n'
)


def test_contacts_import_search_export(engine: Engine, owner: Account) -> None:
    result = dashboard.contacts.import_contacts(engine, owner, CSV.lstrip("\ufeff"))
    assert result.stored == 3 and [(line, number) for line, number, _ in result.failed] == [
        (5, "12")
    ]
    found = dashboard.contacts.list_contacts(engine, owner.id, "ada LOVE")
    assert [r.phone_number for r in found.rows] == ["+33612345678"]
    assert dashboard.contacts.list_contacts(engine, owner.id, "98765").rows[0].lastname == "Turing"
    exported = dashboard.contacts.export_contacts(engine, owner.id)
    lines = exported.splitlines()
    assert lines[0] == "phone_number,firstname,lastname,address,email"
    assert "+33612345678,Ada,Lovelace,London,ada@example.com" in lines
    assert "'=HYPERLINK" in exported  # spreadsheets must not run it
    # Import again what was exported: same contacts, nothing doubled.
    again = dashboard.contacts.import_contacts(engine, owner, exported)
    assert again.stored == 3 and not again.failed
    assert len(dashboard.contacts.list_contacts(engine, owner.id).rows) == 3
    with pytest.raises(ValueError, match="phone_number"):
        dashboard.contacts.import_contacts(engine, owner, "name,email\nAda,a@b.c\n")
    with pytest.raises(ValueError, match="empty"):
        dashboard.contacts.import_contacts(engine, owner, "")


def test_csv_export_neutralises_formulas_behind_tab_cr_lf(engine: Engine, owner: Account) -> None:
    """OWASP CSV injection: a formula may hide behind a leading tab, CR or LF."""
    cells = {
        "firstname": "\t=1+2",
        "lastname": '\r=HYPERLINK("http://x")',
        "address": "\n@SUM(A1)",
        "email": "-2+3",
    }
    with engine.begin() as conn:
        conn.execute(
            insert(contacts).values(
                account_id=owner.id,
                phone_number="+33612345678",
                created_at=NOW,
                updated_at=NOW,
                **cells,
            )
        )
    header, row = csv.reader(io.StringIO(dashboard.contacts.export_contacts(engine, owner.id)))
    assert row[0] == "+33612345678"  # E.164 keeps its "+"
    assert row[1:] == ["'" + cells[name] for name in header[1:]]
    for start in "=+-@\t\r\n":
        assert dashboard.contacts.spreadsheet_safe(start + "x") == "'" + start + "x"
    assert dashboard.contacts.spreadsheet_safe("Ada =1") == "Ada =1"


def test_contact_update_and_delete(engine: Engine, owner: Account) -> None:
    dashboard.contacts.import_contacts(engine, owner, "phone_number\n0612345678\n0612345679\n")
    first, second = dashboard.contacts.list_contacts(engine, owner.id).rows
    values = {"phone_number": second.phone_number, "firstname": "X"}
    assert dashboard.contacts.update_contact(engine, owner, first.id, values) == {
        "phone_number": "another contact already has this number"
    }
    assert (
        dashboard.contacts.update_contact(
            engine, owner, first.id, {"phone_number": "06 12 34 56 70", "email": "x@y.fr"}
        )
        == {}
    )
    assert dashboard.contacts.get_contact(engine, owner.id, first.id).phone_number == "+33612345670"
    other, _ = create_account(engine, "other@example.com")
    with pytest.raises(NotFound):
        dashboard.contacts.delete_contact(engine, other.id, first.id)
    dashboard.contacts.delete_contact(engine, owner.id, first.id)
    with pytest.raises(NotFound):
        dashboard.contacts.get_contact(engine, owner.id, first.id)


def test_qualify_call_queues_the_interface_webhook(engine: Engine, owner: Account) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(accounts)
            .where(accounts.c.id == owner.id)
            .values(webhook_qualification="https://hooks.example/q")
        )
        call_id = conn.execute(
            insert(calls).values(
                account_id=owner.id,
                kind="incoming_call",
                phone_number="+33611223344",
                call_time=NOW,
                duration="0:01:00",
            )
        ).inserted_primary_key[0]
    with pytest.raises(ValueError):
        dashboard.calls.qualify_call(engine, owner, call_id, "   ")
    other, _ = create_account(engine, "other@example.com")
    with pytest.raises(NotFound):
        dashboard.calls.qualify_call(engine, other, call_id, "not mine")
    dashboard.calls.qualify_call(engine, owner, call_id, "  Wants a quote  ")
    page, quals = dashboard.calls.list_calls(engine, owner.id)
    assert [r.id for r in page.rows] == [call_id]
    assert [(q.source, q.text) for q in quals[call_id]] == [("interface", "Wants a quote")]
    with engine.connect() as conn:
        hooks = conn.execute(select(webhooks)).all()
    assert len(hooks) == 1 and hooks[0].kind == "qualification"
    assert hooks[0].url == "https://hooks.example/q"
    payload = json.loads(hooks[0].payload)
    assert payload["title"] == "call_qualification_from_interface"
    assert payload["from"] == "+33611223344" and payload["qualification"] == "Wants a quote"
    assert dashboard.calls.list_calls(engine, other.id)[0].rows == []


def test_delivery_log_and_replayable(engine: Engine, owner: Account) -> None:
    with engine.begin() as conn:
        for i, state in enumerate(("pending", "done", "dead")):
            conn.execute(
                insert(webhooks).values(
                    event_id=f"msg_{i}",
                    account_id=owner.id,
                    kind="status",
                    url="https://h.example",
                    payload="{}",
                    state=state,
                    attempts=i,
                    next_attempt_at=NOW,
                    created_at=NOW + timedelta(seconds=i),
                    last_error="boom" if i == 2 else None,
                )
            )
    log = dashboard.webhooks.list_deliveries(engine, owner.id)
    assert [r.state for r in log.rows] == ["dead", "done", "pending"]
    dead = dashboard.webhooks.list_deliveries(engine, owner.id, "dead")
    assert [r.last_error for r in dead.rows] == ["boom"]
    ids = {r.state: r.id for r in log.rows}
    assert dashboard.webhooks.finished_delivery(engine, owner.id, ids["dead"])
    assert dashboard.webhooks.finished_delivery(engine, owner.id, ids["done"])
    assert not dashboard.webhooks.finished_delivery(engine, owner.id, ids["pending"])
    other, _ = create_account(engine, "other@example.com")
    assert not dashboard.webhooks.finished_delivery(engine, other.id, ids["dead"])
    urls, secret = dashboard.webhooks.webhook_settings(engine, owner.id)
    assert urls == dict.fromkeys(WEBHOOK_KINDS, "") and secret is None
