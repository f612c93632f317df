"""Every list the dashboard and v2 offer reads its page off an index, on both
stores: the plans of the statements each list really runs (captured while it
runs, then EXPLAINed with the same parameters) use the list's index for the
account's rows, with no full scan and no sort step. Deep pages (followed by
their keyset links) cost what the first costs.

A few hundred rows, ANALYZEd; on PostgreSQL sequential scans are priced out
(tables this small fit one page, where a scan is rightly cheaper), so that
the plan shows what the index can do, and a missing index or a sort shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, select, text

from simgate._wire import CALL_KINDS
from simgate.config import Settings
from simgate.services import call_log, dashboard, history
from simgate.services.accounts import Account, create_account
from simgate.services.dashboard.messages import MessageFilter
from simgate.store import calls as call_store
from simgate.store import campaigns as campaign_store
from simgate.store import contacts as contact_store
from simgate.store import lists as list_store
from simgate.store import messages as message_store
from simgate.store import outbox
from simgate.store.db import make_engine
from simgate.store.tables import (
    calls,
    campaigns,
    contact_lists,
    contacts,
    incoming_sms,
    list_members,
    messages,
    qualifications,
    webhooks,
)

NOW = datetime(2026, 3, 11, 14, 20)
STATES = ("queued", "dispatched", "sent", "received", "failed", "expired")
ROWS = 400


def number(i: int) -> str:
    return f"+336{i % 40:08d}"


@pytest.fixture(scope="module")
def filled(shared_settings: Settings) -> Iterator[tuple[Engine, Account]]:
    """One filled store per module and engine: the tests only read it (those
    that add rows add their own kind)."""
    engine = make_engine(shared_settings)
    yield fill(engine)
    engine.dispose()


def fill(engine: Engine) -> tuple[Engine, Account]:
    owner, _ = create_account(engine, "owner@example.com", "Europe/Paris", "FR")
    other, _ = create_account(engine, "other@example.com", "Europe/Paris", "FR")
    with engine.begin() as conn:
        for account, rows in ((owner, ROWS), (other, ROWS // 4)):
            at = [NOW - timedelta(minutes=7 * i) for i in range(rows)]
            conn.execute(
                insert(messages),
                [
                    {
                        "account_id": account.id,
                        "id_sms_api": f"m{i}",
                        "request_hash": "h",
                        "phone_number": number(i),
                        "message": "hello",
                        "short_code": f"{account.id}c{i}" if i % 10 == 0 else None,
                        "url": "https://example.com/" if i % 10 == 0 else None,
                        "priority": 1,
                        "encoding": "GSM-7",
                        "segments": 1,
                        "state": STATES[i % len(STATES)],
                        "send_at": at[i],
                        "created_at": at[i - i % 3],  # equal times: the id breaks ties
                        "attempts": 0,
                    }
                    for i in range(rows)
                ],
            )
            conn.execute(
                insert(incoming_sms),
                [
                    {
                        "account_id": account.id,
                        "from_number": number(i),
                        "text": "hi",
                        "received_at": at[i],
                    }
                    for i in range(rows)
                ],
            )
            conn.execute(
                insert(calls),
                [
                    {
                        "account_id": account.id,
                        "kind": CALL_KINDS[i % len(CALL_KINDS)],
                        "phone_number": number(i),
                        "call_time": at[i],
                        "duration": "10",
                    }
                    for i in range(rows)
                ],
            )
            call_ids = conn.execute(
                select(calls.c.id).where(calls.c.account_id == account.id).order_by(calls.c.id)
            ).scalars()
            conn.execute(
                insert(qualifications),
                [
                    {
                        "account_id": account.id,
                        "call_id": call_id if i % 2 else None,
                        "source": "interface",
                        "from_number": number(i),
                        "text": "ok",
                        "created_at": at[i],
                    }
                    for i, call_id in enumerate(call_ids)
                ],
            )
            conn.execute(
                insert(webhooks),
                [
                    {
                        "event_id": f"{account.id}e{i}",
                        "account_id": account.id,
                        "kind": "status",
                        "url": "https://example.com/hook",
                        "payload": "{}",
                        "state": ("done", "dead", "pending")[i % 3],
                        "attempts": 1,
                        "next_attempt_at": at[i],
                        "created_at": at[i],
                    }
                    for i in range(rows)
                ],
            )
            conn.execute(
                insert(contacts),
                [
                    {
                        "account_id": account.id,
                        "phone_number": number(i) + str(i),
                        "firstname": f"F{i % 7}",
                        "lastname": f"L{i % 13}",
                        "search_name": f"f{i % 7} l{i % 13}",
                        "created_at": at[i],
                        "updated_at": at[i],
                    }
                    for i in range(rows)
                ],
            )
        conn.execute(text("ANALYZE"))
    return engine, owner


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SELECT statements run on `engine` meanwhile, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def listen(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def plans(engine: Engine, statements: list[tuple[str, Any]]) -> list[str]:
    found = []
    with engine.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET enable_bitmapscan = off")
        for statement, parameters in statements:
            prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            rows = conn.exec_driver_sql(prefix + statement, parameters)
            found.append("\n".join(str(r[0] if postgres else r[-1]) for r in rows))
    return found


def page_plans(engine: Engine, run: Callable[[], Any]) -> list[str]:
    """The plans of the LIMITed statements (the pages) that `run` executes."""
    with captured(engine) as seen:
        run()
    return plans(engine, [(s, p) for s, p in seen if re.search(r"\bLIMIT\b", s)])


def assert_indexed(plan: str, index: str, *, sorted_ok: bool = False) -> None:
    assert index in plan, plan
    assert "Seq Scan" not in plan, plan
    # SQLite full scans of a table (not of a subquery's few rows, "anon_N").
    assert not re.search(r"^SCAN (?!anon_)\w+( USING .*)?$", plan, re.M), plan
    if not sorted_ok:
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def walk(first: Any, follow: Callable[[str], Any], pages: int = 3) -> list[Any]:
    """The first page, a few pages on by their "older" links, and one back."""
    seen = [first]
    page = first
    for _ in range(pages):
        if page.after is None:
            break
        page = follow(page.after)
        seen.append(page)
    if page.before is not None:
        seen.append(follow(page.before))
    return seen


# --- the dashboard -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filt", "index"),
    [
        (MessageFilter(), "ix_messages_account_created_id"),
        (MessageFilter(number="06 00 00 00 07"), "ix_messages_account_phone_id"),
        (MessageFilter(number="+33600000007", state="sent"), "ix_messages_account_phone_id"),
        (MessageFilter(state="failed"), "ix_messages_account_state"),
        (
            MessageFilter(state="sent", since=NOW - timedelta(days=1), until=NOW),
            "ix_messages_account_state",
        ),
        (
            MessageFilter(since=NOW - timedelta(days=1), until=NOW),
            "ix_messages_account_created_id",
        ),
        # A part of a number: a bounded walk of the account + time index.
        (MessageFilter(number="0000"), "ix_messages_account_created_id"),
    ],
)
def test_messages_pages(filled: tuple[Engine, Account], filt: MessageFilter, index: str) -> None:
    engine, owner = filled

    def page(link: str = "") -> Any:
        return dashboard.messages.list_messages(engine, owner.id, filt, link, owner.region)

    for plan in page_plans(engine, lambda: walk(page(), page)):
        assert_indexed(plan, index)


def test_links_calls_contacts_and_deliveries_pages(filled: tuple[Engine, Account]) -> None:
    engine, owner = filled
    lists: list[tuple[Callable[[str], Any], str]] = [
        (
            lambda link: dashboard.links.list_links(engine, owner.id, link),
            "ix_messages_account_links",
        ),
        (
            lambda link: dashboard.calls.list_calls(engine, owner.id, link)[0],
            "ix_calls_account_time_id",
        ),
        (
            lambda link: dashboard.contacts.list_contacts(engine, owner.id, "", link),
            "ix_contacts_account_names",
        ),
        (
            lambda link: dashboard.webhooks.list_deliveries(engine, owner.id, "", link),
            "ix_webhooks_account_created_id",
        ),
        (
            lambda link: dashboard.webhooks.list_deliveries(engine, owner.id, "dead", link),
            "ix_webhooks_account_state",
        ),
    ]
    for page, index in lists:
        for plan in page_plans(engine, lambda page=page: walk(page(""), page)):
            assert_indexed(plan, index)


# --- v2 lists ------------------------------------------------------------------------------


def test_v2_sms_calls_and_qualifications_lists(filled: tuple[Engine, Account]) -> None:
    engine, owner = filled
    since, until = NOW - timedelta(days=1), NOW
    bound = history.Bound(NOW - timedelta(hours=5), 1, 10**6)
    cases: list[tuple[Callable[[], Any], str, bool]] = [
        (
            lambda: history.list_sms(engine, owner.id, 20, "outbound"),
            "ix_messages_account_created_id",
            False,
        ),
        (
            lambda: history.list_sms(engine, owner.id, 20, "outbound", None, since, until, bound),
            "ix_messages_account_created_id",
            False,
        ),
        (
            lambda: history.list_sms(engine, owner.id, 20, "outbound", number(7)),
            "ix_messages_account_phone_id",
            False,
        ),
        (
            lambda: history.list_sms(engine, owner.id, 20, "inbound"),
            "ix_incoming_sms_account_received_id",
            False,
        ),
        # Each spelling of a number reads its own range; the parts' few rows merge.
        (
            lambda: history.list_sms(engine, owner.id, 20, "inbound", number(7)),
            "ix_incoming_sms_account_from_id",
            True,
        ),
        (lambda: call_log.list_calls(engine, owner.id, 20), "ix_calls_account_time_id", False),
        (
            lambda: call_log.list_calls(
                engine, owner.id, 20, None, None, since, until, None, (NOW, 10**6)
            ),
            "ix_calls_account_time_id",
            False,
        ),
        (
            lambda: call_log.list_calls(engine, owner.id, 20, ("missed",)),
            "ix_calls_account_kind",
            False,
        ),
        (
            lambda: call_log.list_calls(engine, owner.id, 20, None, number(7)),
            "ix_calls_account_phone_id",
            True,
        ),
        (
            lambda: call_log.list_qualifications(engine, owner.id, 20),
            "ix_qualifications_account_created_id",
            False,
        ),
        (
            lambda: call_log.list_qualifications(engine, owner.id, 20, number(7)),
            "ix_qualifications_account_phone",
            True,
        ),
    ]
    for run, index, merged in cases:
        for plan in page_plans(engine, run):
            assert_indexed(plan, index, sorted_ok=merged)


def test_v2_campaigns_list(filled: tuple[Engine, Account]) -> None:
    engine, owner = filled
    with engine.begin() as conn:
        conn.execute(
            insert(campaigns),
            [
                {
                    "account_id": owner.id,
                    "name": f"c{i}",
                    "message": "hello",
                    "status": 3,
                    "created_at": NOW - timedelta(days=i // 2),
                }
                for i in range(60)
            ],
        )

    def run() -> None:
        with engine.connect() as conn:
            campaign_store.page_of_campaigns(conn, owner.id, 20, (NOW - timedelta(days=3), 40))

    for plan in page_plans(engine, run):
        assert_indexed(plan, "ix_campaigns_account_created_id")


def test_a_contact_lists_members(filled: tuple[Engine, Account]) -> None:
    engine, owner = filled
    with engine.begin() as conn:
        list_id = conn.execute(
            insert(contact_lists).values(
                account_id=owner.id, name="all", created_at=NOW, updated_at=NOW
            )
        ).inserted_primary_key[0]
        ids = conn.execute(select(contacts.c.id).where(contacts.c.account_id == owner.id))
        conn.execute(
            insert(list_members),
            [
                {"list_id": list_id, "contact_id": i, "added_at": NOW - timedelta(seconds=i)}
                for i in ids.scalars()
            ],
        )
        conn.execute(text("ANALYZE"))

    def run() -> None:
        with engine.connect() as conn:
            list_store.members(conn, list_id, 20)

    for plan in page_plans(engine, run):
        assert_indexed(plan, "ix_list_members_list_added")


@pytest.mark.parametrize("sort", ["created", "lastname", "firstname", "phone_number"])
def test_v2_contacts_list(filled: tuple[Engine, Account], sort: str) -> None:
    engine, owner = filled
    index = {
        "created": "ix_contacts_account_created",
        "lastname": "ix_contacts_account_lastname",
        "firstname": "ix_contacts_account_search_name",
        "phone_number": "uq_contacts_account_id_phone_number",
    }[sort]

    def run() -> None:
        with engine.connect() as conn:
            contact_store.page(conn, owner.id, sort=sort, descending=True, after=None, limit=20)

    for plan in page_plans(engine, run):
        if sort == "phone_number":
            # The number is unique in the account: PostgreSQL, which does not
            # know that, "sorts" each number's one row by id (Presorted Key),
            # a step per row shown, not a sort of the account's contacts.
            assert "sqlite_autoindex_contacts_1" in plan or index in plan, plan
            assert "TEMP B-TREE" not in plan and "Seq Scan" not in plan, plan
            assert "Sort" not in plan or "Presorted Key: phone_number" in plan, plan
        else:
            assert_indexed(plan, index)


def test_the_calls_page_reads_qualifications_of_its_calls_only(
    filled: tuple[Engine, Account],
) -> None:
    engine, owner = filled
    with captured(engine) as seen:
        dashboard.calls.list_calls(engine, owner.id)
    (statement,) = [(s, p) for s, p in seen if "FROM qualifications" in s]
    (plan,) = plans(engine, [statement])
    assert_indexed(plan, "ix_qualifications_call_id", sorted_ok=True)  # a page's few rows
    assert call_store  # the v2 reads above go through it


def test_the_claims_read_only_what_is_due(filled: tuple[Engine, Account]) -> None:
    """The dispatcher's sweep promotes what is due in send-date order off its
    index, its claim reads the account's queue in sending order off its
    partial index (not every account's queue, sorted), and the webhook
    sender's claim reads the due range of pending deliveries."""
    engine, owner = filled
    seen: list[tuple[str, Any]] = []

    def listen(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listen)
    try:
        with engine.begin() as conn:
            message_store.promote_due(conn, NOW)
            message_store.due(conn, owner.id, 10, frozenset({1}))
            outbox.claim_due(conn, NOW, 10, ["https://down.example.com/"], NOW)
            conn.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    promote, claim, deliveries = plans(
        engine, [(s, p) for s, p in seen if s.lstrip().startswith("UPDATE") or "FROM messages" in s]
    )
    # PostgreSQL may pick another index on (state, ...) for the few rows here;
    # what matters is that the batch is read off an index, never by a scan.
    sqlite = engine.dialect.name == "sqlite"
    assert_indexed(promote, "ix_messages_due" if sqlite else "Index", sorted_ok=not sqlite)
    assert_indexed(claim, "ix_messages_queue")
    assert_indexed(deliveries, "ix_webhooks_due", sorted_ok=True)


def test_device_reports_read_their_messages_by_id(engine: Engine) -> None:
    """A batch of a phone's reports reads the messages it names by primary
    key, never through the account's history. On a store never ANALYZEd (as
    every new one is), `account_id IN (...)` beside the ids made SQLite walk
    every message the account had sent, for each batch."""
    owner, _ = create_account(engine, "owner@example.com", "Europe/Paris", "FR")
    with engine.begin() as conn:
        conn.execute(
            insert(messages),
            [
                {
                    "account_id": owner.id,
                    "id_sms_api": f"m{i}",
                    "request_hash": "h",
                    "phone_number": number(i),
                    "message": "hello",
                    "priority": 1,
                    "encoding": "GSM-7",
                    "segments": 1,
                    "state": "dispatched",
                    "send_at": NOW,
                    "created_at": NOW,
                    "attempts": 1,
                }
                for i in range(20)
            ],
        )
        ids = set(conn.execute(select(messages.c.id).limit(3)).scalars())
    with captured(engine) as seen, engine.connect() as conn:
        assert {r[0] for r in message_store.held(conn, ids, {owner.id})} == ids
        assert message_store.held(conn, ids, {owner.id + 1}) == []
    sqlite = engine.dialect.name == "sqlite"
    for plan in plans(engine, seen):
        assert_indexed(plan, "PRIMARY KEY" if sqlite else "pk_messages")
