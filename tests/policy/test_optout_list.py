"""The opt-out list's service (services/suppressions.py) on both stores:
add, remove, import, export, history, keywords received; accounts apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from simgate.errors import Invalid
from simgate.services import suppressions
from simgate.services.accounts import create_account
from simgate.services.policy import update_policy
from simgate.store.accounts import Account
from simgate.store.tables import messages, suppression_events
from tests.support.clock import ManualClock

START = datetime(2026, 3, 2, 10, 0)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START.replace(tzinfo=UTC))


@pytest.fixture
def accounts(engine: Engine) -> tuple[Account, Account]:
    first, _ = create_account(engine, "first@example.com")
    other, _ = create_account(engine, "other@example.com")
    return first, other


def _events(engine: Engine, account: Account) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(suppression_events)
                .where(suppression_events.c.account_id == account.id)
            ).scalar_one()
        )


def test_add_normalises_numbers_and_ignores_repeats(
    engine: Engine, accounts: tuple[Account, Account], clock: ManualClock
) -> None:
    account, _ = accounts
    change = suppressions.add(
        engine, account, ["06 12 34 56 78", "+33612345679"], note="asked", clock=clock
    )
    assert change.changed == ["+33612345678", "+33612345679"]
    again = suppressions.add(engine, account, ["+33612345678"], clock=clock)
    assert again.changed == [] and again.unchanged == ["+33612345678"]
    number, entry = suppressions.check(engine, account, "0612345678")
    assert number == "+33612345678"
    assert entry is not None and entry.reason == "manual" and entry.detail == "asked"
    assert _events(engine, account) == 2


def test_a_bad_number_changes_nothing(engine: Engine, accounts: tuple[Account, Account]) -> None:
    account, _ = accounts
    with pytest.raises(Invalid) as caught:
        suppressions.add(engine, account, ["+33612345678", "not a number"])
    assert caught.value.field == "phone_numbers"
    assert suppressions.count(engine, account) == 0


def test_remove_keeps_the_history(
    engine: Engine, accounts: tuple[Account, Account], clock: ManualClock
) -> None:
    account, _ = accounts
    suppressions.add(
        engine, account, ["+33612345678"], reason="api", note="by the CRM", clock=clock
    )
    clock.advance(60)
    change = suppressions.remove(engine, account, ["+33612345678", "+33612345670"], clock=clock)
    assert change.changed == ["+33612345678"] and change.unchanged == ["+33612345670"]
    number, entry, events = suppressions.history(engine, account, "+33612345678")
    assert entry is None
    assert [(e.action, e.reason, e.detail) for e in events] == [
        ("remove", "manual", ""),
        ("add", "api", "by the CRM"),
    ]
    assert events[0].at == START + timedelta(seconds=60)


def test_import_reports_bad_lines_and_skips_duplicates(
    engine: Engine, accounts: tuple[Account, Account], clock: ManualClock
) -> None:
    account, other = accounts
    suppressions.add(engine, other, ["+33611111111"], clock=clock)
    suppressions.add(engine, account, ["+33622222222"], clock=clock)
    text = "number,name\n0611111111,Ann\n+33622222222\n\nhello\n06 33 33 33 33\n0633333333\n12\n"
    change = suppressions.import_text(engine, account, text, note="list from the shop", clock=clock)
    assert change.changed == ["+33611111111", "+33633333333"]
    assert change.unchanged == ["+33622222222"]
    assert [(line, cell) for line, cell, _ in change.errors] == [(5, "hello"), (8, "12")]
    # The other account's list is its own.
    assert suppressions.count(engine, other) == 1
    _, entry = suppressions.check(engine, account, "+33611111111")
    assert entry is not None and entry.reason == "imported" and entry.detail == "list from the shop"


def test_export_and_pages_newest_first(
    engine: Engine, accounts: tuple[Account, Account], clock: ManualClock
) -> None:
    account, other = accounts
    for n in range(5):
        suppressions.add(engine, account, [f"+3361234567{n}"], clock=clock)
        clock.advance(1)
    suppressions.add(engine, other, ["+33699999999"], clock=clock)
    first, more = suppressions.page(engine, account, limit=2)
    assert [e.phone_number for e in first] == ["+33612345674", "+33612345673"] and more
    rest, more = suppressions.page(
        engine, account, (first[-1].since, first[-1].phone_number), limit=10
    )
    assert [e.phone_number for e in rest] == ["+33612345672", "+33612345671", "+33612345670"]
    assert not more
    found, _ = suppressions.page(engine, account, search="+3361234567 3")
    assert [e.phone_number for e in found] == ["+33612345673"]
    with pytest.raises(Invalid):
        suppressions.page(engine, account, search="abc%")
    suppressions.add(engine, other, ["+33688888888"], note="=HYPERLINK(1)", clock=clock)
    assert "+33688888888,manual,'=HYPERLINK(1)," in "".join(suppressions.export_csv(engine, other))
    lines = "".join(suppressions.export_csv(engine, account)).splitlines()
    assert lines[0] == "number,reason,detail,since"
    assert lines[1] == "+33612345674,manual,,2026-03-02T10:00:04Z"
    assert len(lines) == 6


def test_keywords_change_the_list_once_and_reply_once(
    engine: Engine, accounts: tuple[Account, Account], clock: ManualClock
) -> None:
    account, other = accounts
    update_policy(
        engine, account, optout_reply="You will get no more SMS.", optin_reply="Welcome back"
    )
    now = START
    with engine.begin() as conn:
        assert (
            suppressions.keyword_received(conn, account, "0612345678", " Stop! ", now) == "optout"
        )
        assert suppressions.keyword_received(conn, account, "+33612345678", "STOP", now) is None
        assert suppressions.keyword_received(conn, account, "INFO-SHOP", "stop", now) is None
        assert suppressions.keyword_received(conn, account, "=1+2", "stop", now) is None
        assert suppressions.keyword_received(conn, account, "36180", "stop", now) == "optout"
        assert suppressions.keyword_received(conn, account, "+33612345678", "stop it", now) is None
    _, entry = suppressions.check(engine, account, "+33612345678")
    assert entry is not None and entry.reason == "keyword" and entry.detail == " Stop! "
    assert suppressions.count(engine, other) == 0
    with engine.begin() as conn:
        assert suppressions.keyword_received(conn, account, "+33612345678", "start", now) == "optin"
    with engine.connect() as conn:
        texts = conn.execute(
            select(messages.c.phone_number, messages.c.message, messages.c.state)
            .where(messages.c.account_id == account.id)
            .order_by(messages.c.id)
        ).all()
    assert [tuple(t) for t in texts] == [
        ("+33612345678", "You will get no more SMS.", "queued"),
        ("+33612345678", "Welcome back", "queued"),
    ]


def test_keywords_are_ignored_when_the_account_turns_them_off(
    engine: Engine, accounts: tuple[Account, Account]
) -> None:
    account, _ = accounts
    update_policy(engine, account, optout_enabled=False)
    with engine.begin() as conn:
        assert suppressions.keyword_received(conn, account, "+33612345678", "STOP", START) is None
    assert suppressions.count(engine, account) == 0
