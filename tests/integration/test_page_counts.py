"""The counts the campaign and list pages show come from rollups kept by
triggers (migration 0008, "Page indexes"), on both stores:

- a campaign's recipients (campaign_counts, key +recipients);
- a list's live members (list_counts): members in and out, their contacts
  soft-deleted and back, lists deleted, in any order, agree with a full count;
- the pages read neither campaign_recipients nor list_members for them, and
  the upgrade counts what is already stored.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time
from datetime import datetime
from typing import Any

import pytest
from alembic import command
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, delete, func, insert, select, text

from simgate.errors import NotFound
from simgate.services import contact_book, contact_lists
from simgate.services.accounts import Account, create_account
from simgate.store import campaigns as campaign_store
from simgate.store import contacts as contact_store
from simgate.store import lists as list_store
from simgate.store import rollups
from simgate.store.campaigns import RecipientRow
from simgate.store.db import alembic_config
from simgate.store.tables import campaign_recipients, contacts, list_count_deltas, list_members
from simgate.store.tables import contact_lists as lists_table
from tests.integration.conftest import fold_with_worker, pending_deltas
from tests.integration.test_list_plans import captured, plans

BASE = datetime(2026, 3, 11, 9, 0)
NUMBERS = itertools.count(10_000_000)


def new_numbers(count: int) -> list[str]:
    return [f"+3361{next(NUMBERS):08d}" for _ in range(count)]


def full_counts(engine: Engine, list_ids: list[int]) -> dict[int, int]:
    """Live members per list, counted from the rows."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(list_members.c.list_id, func.count())
            .join(contacts, contacts.c.id == list_members.c.contact_id)
            .where(list_members.c.list_id.in_(list_ids), contacts.c.deleted_at.is_(None))
            .group_by(list_members.c.list_id)
        )
        found = {int(list_id): int(n) for list_id, n in rows}
    return {list_id: found.get(list_id, 0) for list_id in list_ids}


def shown_counts(engine: Engine, account: Account, list_ids: list[int]) -> dict[int, int]:
    """Live members per list as the pages read them (a page of lists and each list)."""
    lists, _ = contact_lists.page(engine, account, None, 500)
    by_page = {found.id: found.contacts for found in lists}
    for list_id in list_ids:
        assert contact_lists.get(engine, account, list_id).contacts == by_page[list_id]
    return {list_id: by_page[list_id] for list_id in list_ids}


# --- list members --------------------------------------------------------------------


class ListCounts(RuleBasedStateMachine):
    """Contacts added, soft-deleted and upserted back; members added one by
    one, all at once and removed; lists made and deleted. Each run has an
    account of its own in the test's store."""

    contact_ids = Bundle("contact_ids")

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.account, _ = create_account(engine, f"{secrets.token_hex(6)}@example.com")
        self.lists = [self._new_list() for _ in range(2)]
        self.numbers: dict[int, str] = {}

    def _new_list(self) -> int:
        return contact_lists.create(self.engine, self.account, "l", "").id

    @rule(target=contact_ids, count=st.integers(1, 4))
    def add_contacts(self, count: int) -> Any:
        numbers = new_numbers(count)
        self._upsert(numbers)
        with self.engine.connect() as conn:
            found = [contact_store.by_phone(conn, self.account.id, n) for n in numbers]
        ids = [c.id for c in found if c is not None]
        self.numbers.update(zip(ids, numbers, strict=True))
        return multiple(*ids)

    def _upsert(self, numbers: list[str]) -> None:
        rows = [
            {"account_id": self.account.id, "phone_number": n, "firstname": "A",
             "lastname": "B", "address": "", "email": "", "created_at": BASE,
             "updated_at": BASE}
            for n in numbers
        ]  # fmt: skip
        with self.engine.begin() as conn:
            contact_store.upsert(conn, rows)

    @rule(contact_id=contact_ids)
    def soft_delete(self, contact_id: int) -> None:
        try:
            contact_book.delete(self.engine, self.account, contact_id)
        except NotFound:
            pass  # deleted already

    @rule(contact_id=contact_ids)
    def upsert_back(self, contact_id: int) -> None:
        """The same number again: a soft-deleted contact comes back."""
        self._upsert([self.numbers[contact_id]])

    @rule(which=st.integers(0, 1), ids=st.lists(contact_ids, max_size=4))
    def add_members(self, which: int, ids: list[int]) -> None:
        if ids:
            contact_lists.add_members(self.engine, self.account, self.lists[which], ids)

    @rule(which=st.integers(0, 1), ids=st.lists(contact_ids, max_size=4))
    def remove_members(self, which: int, ids: list[int]) -> None:
        if ids:
            contact_lists.remove_members(self.engine, self.account, self.lists[which], ids)

    @rule(which=st.integers(0, 1))
    def add_all(self, which: int) -> None:
        contact_lists.add_all(self.engine, self.account, self.lists[which])

    @rule(which=st.integers(0, 1))
    def replace_a_list(self, which: int) -> None:
        contact_lists.delete(self.engine, self.account, self.lists[which])
        self.lists[which] = self._new_list()

    @rule()
    def members_gone_behind_the_services(self) -> None:
        """A statement that removes the members of several lists at once."""
        with self.engine.begin() as conn:
            conn.execute(delete(list_members).where(list_members.c.list_id.in_(self.lists)))

    @rule()
    def compact(self) -> None:
        with self.engine.begin() as conn:
            rollups.compact(conn)

    @invariant()
    def counts_agree_with_a_full_count(self) -> None:
        expected = full_counts(self.engine, self.lists)
        assert shown_counts(self.engine, self.account, self.lists) == expected


def test_list_counts_agree_with_a_full_count(engine: Engine) -> None:
    run_state_machine_as_test(
        lambda: ListCounts(engine),
        settings=settings(
            max_examples=8,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_a_member_deleted_and_back_counts_out_and_in(engine: Engine) -> None:
    account, _ = create_account(engine, "back@example.com")
    lists = [contact_lists.create(engine, account, name, "").id for name in ("a", "b")]
    numbers = new_numbers(3)
    rows = [
        {"account_id": account.id, "phone_number": n, "firstname": "", "lastname": "",
         "address": "", "email": "", "created_at": BASE, "updated_at": BASE}
        for n in numbers
    ]  # fmt: skip
    with engine.begin() as conn:
        contact_store.upsert(conn, rows)
        ids = [c.id for n in numbers if (c := contact_store.by_phone(conn, account.id, n))]
    for list_id in lists:
        contact_lists.add_members(engine, account, list_id, ids)
    assert shown_counts(engine, account, lists) == {lists[0]: 3, lists[1]: 3}
    contact_book.delete(engine, account, ids[0])
    assert shown_counts(engine, account, lists) == {lists[0]: 2, lists[1]: 2}
    # The deleted one is not removed (the service sees live contacts only).
    contact_lists.remove_members(engine, account, lists[1], ids[:2])
    assert shown_counts(engine, account, lists) == {lists[0]: 2, lists[1]: 1}
    with engine.begin() as conn:
        contact_store.upsert(conn, rows[:1])  # back, with its memberships
    assert shown_counts(engine, account, lists) == {lists[0]: 3, lists[1]: 2}
    assert shown_counts(engine, account, lists) == full_counts(engine, lists)


def test_the_rollups_worker_folds_the_list_deltas_in(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite adds to the counts in place: no deltas to fold")
    account, _ = create_account(engine, "fold-lists@example.com")
    list_id = contact_lists.create(engine, account, "l", "").id
    numbers = new_numbers(3)
    with engine.begin() as conn:
        contact_store.upsert(
            conn,
            [
                {"account_id": account.id, "phone_number": n, "firstname": "", "lastname": "",
                 "address": "", "email": "", "created_at": BASE, "updated_at": BASE}
                for n in numbers
            ],
        )  # fmt: skip
    contact_lists.add_all(engine, account, list_id)

    assert pending_deltas(engine, list_count_deltas) == 1
    fold_with_worker(engine, list_count_deltas, timeout=30)
    assert contact_lists.get(engine, account, list_id).contacts == 3


# --- campaign recipients ---------------------------------------------------------------


def make_campaign(engine: Engine, account: Account, recipients: int) -> int:
    with engine.begin() as conn:
        return campaign_store.insert_campaign(
            conn,
            account.id,
            {"name": "c", "message": "hi", "priority": 1, "status": 0},
            [RecipientRow(n, None) for n in new_numbers(recipients)],
            BASE,
        )


def test_campaign_recipients_are_counted_as_they_are_written(engine: Engine) -> None:
    account, _ = create_account(engine, "recipients@example.com")
    sizes = {make_campaign(engine, account, n): n for n in (0, 1, 7, 120)}
    with engine.connect() as conn:
        page = campaign_store.page_of_campaigns(conn, account.id, 10, None)
        assert {row.id: row.recipients for row in page} == sizes
        for campaign_id, size in sizes.items():
            found = campaign_store.get_campaign(conn, account.id, campaign_id)
            assert found is not None and found.recipients == size
        # Not a message state: the campaign's states leave it out.
        assert campaign_store.states_by_campaign(conn, list(sizes)) == {i: {} for i in sizes}
    biggest = max(sizes, key=sizes.__getitem__)
    with engine.begin() as conn:
        conn.execute(
            delete(campaign_recipients).where(
                campaign_recipients.c.campaign_id == biggest,
                campaign_recipients.c.id.in_(
                    select(campaign_recipients.c.id)
                    .where(campaign_recipients.c.campaign_id == biggest)
                    .limit(20)
                    .scalar_subquery()
                ),
            )
        )
        rollups.compact(conn)
    with engine.connect() as conn:
        found = campaign_store.get_campaign(conn, account.id, biggest)
        assert found is not None and found.recipients == 100


# --- the pages read the rollups, not the rows ---------------------------------------------


def test_the_pages_count_from_the_rollups(engine: Engine) -> None:
    """Campaigns and lists, a page and one: no statement reads the recipients
    or the memberships, and the rollups are read by their primary keys."""
    account, _ = create_account(engine, "pages@example.com")
    campaign_id = make_campaign(engine, account, 30)
    list_id = contact_lists.create(engine, account, "l", "").id
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    with captured(engine) as seen:
        with engine.connect() as conn:
            campaign_store.page_of_campaigns(conn, account.id, 10, None)
            campaign_store.get_campaign(conn, account.id, campaign_id)
            list_store.page(conn, account.id, None, 500)
            list_store.get(conn, account.id, list_id)
    assert not [s for s, _ in seen if re.search(r"\b(campaign_recipients|list_members)\b", s)]
    rollup_reads = [(s, p) for s, p in seen if re.search(r"\b(campaign|list)_counts\b", s)]
    assert len(rollup_reads) == 4
    for plan in plans(engine, rollup_reads):
        assert "Seq Scan" not in plan, plan
        assert not re.search(r"^SCAN (campaign|list)_counts\b", plan, re.M), plan
        assert re.search(r"pk_(campaign|list)_counts|USING PRIMARY KEY", plan), plan


def test_a_contacts_page_reads_names_only(engine: Engine) -> None:
    """The lists to add a contact to and the custom fields to fill, without
    the counts that read every membership and every contact."""
    account, _ = create_account(engine, "names@example.com")
    older = contact_lists.create(engine, account, "b", "").id
    newer = contact_lists.create(engine, account, "a", "").id
    contact_book.define_custom_field(engine, account, "shop", "Shop")
    with captured(engine) as seen:
        choices = contact_lists.choices(engine, account, 500)
        names = contact_book.field_names(engine, account)
    # Newest first, as the page of lists with their counts was.
    assert [c.id for c in choices] == [newer, older]
    assert [(f.name, f.label) for f in names] == [("shop", "Shop")]
    assert not [s for s, _ in seen if re.search(r"list_members|json_each|jsonb_object_keys", s)]


# --- the upgrade counts what is there ----------------------------------------------------


def test_the_upgrade_counts_recipients_and_members_already_stored(old_store: Engine) -> None:
    config = alembic_config(old_store)
    command.upgrade(config, "0007")
    with old_store.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO accounts (id, email, timezone, region, created_at)"
                " VALUES (1, 'a@example.com', 'UTC', 'FR', :now)"
            ),
            {"now": BASE},
        )
        conn.execute(
            text(
                "INSERT INTO campaigns (id, account_id, name, message, priority, status,"
                " created_at) VALUES (5, 1, 'c', 'hi', 1, 0, :now)"
            ),
            {"now": BASE},
        )
        conn.execute(
            insert(campaign_recipients),
            [{"campaign_id": 5, "phone_number": n} for n in new_numbers(4)],
        )
        conn.execute(
            insert(lists_table),
            [
                {"id": i, "account_id": 1, "name": "l", "created_at": BASE, "updated_at": BASE}
                for i in (7, 8)
            ],
        )
        conn.execute(
            insert(contacts),
            [
                {"id": i, "account_id": 1, "phone_number": n, "created_at": BASE,
                 "updated_at": BASE, "deleted_at": BASE if i == 3 else None}
                for i, n in enumerate(new_numbers(4), start=1)
            ],
        )  # fmt: skip
        conn.execute(
            insert(list_members),
            [
                {"list_id": list_id, "contact_id": i, "added_at": BASE}
                for list_id, ids in ((7, (1, 2, 3, 4)), (8, (3,)))
                for i in ids
            ],
        )
    command.upgrade(config, "head")
    with old_store.connect() as conn:
        found = campaign_store.get_campaign(conn, 1, 5)
        assert found is not None and found.recipients == 4
        assert {row.id: row.contacts for row in list_store.page(conn, 1, None, 10)} == {7: 3, 8: 0}
    # The triggers run from now on.
    with old_store.begin() as conn:
        conn.execute(
            contacts.update().where(contacts.c.id == 3).values(deleted_at=None, updated_at=BASE)
        )
    assert full_counts(old_store, [7, 8]) == {7: 4, 8: 1}
    with old_store.connect() as conn:
        assert {row.id: row.contacts for row in list_store.page(conn, 1, None, 10)} == {7: 4, 8: 1}
    command.downgrade(config, "0007")
    command.upgrade(config, "head")
    with old_store.connect() as conn:
        assert {row.id: row.contacts for row in list_store.page(conn, 1, None, 10)} == {7: 4, 8: 1}


def test_a_member_added_while_its_contact_is_deleted_is_not_counted(engine: Engine) -> None:
    """PostgreSQL, two transactions at once: a contact soft-deleted (not yet
    committed) while another adds it to a list. The member's trigger waits
    for the delete and then sees it; without that lock each would count from
    its own snapshot and the list would count a deleted contact."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: no two transactions at once")
    account, _ = create_account(engine, "race@example.com")
    list_id = contact_lists.create(engine, account, "l", "").id
    [number] = new_numbers(1)
    with engine.begin() as conn:
        contact_store.upsert(
            conn,
            [{"account_id": account.id, "phone_number": number, "firstname": "", "lastname": "",
              "address": "", "email": "", "created_at": BASE, "updated_at": BASE}],
        )  # fmt: skip
        found = contact_store.by_phone(conn, account.id, number)
        assert found is not None
    deleting = engine.connect()
    deleting.begin()
    deleting.execute(contacts.update().where(contacts.c.id == found.id).values(deleted_at=BASE))
    # The service checked liveness before the delete: add the row as it would.
    adding = threading.Thread(target=_add_member, args=(engine, list_id, found.id))
    adding.start()
    deadline = time.monotonic() + 20
    with engine.connect() as watch:
        while not watch.execute(
            text("SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'")
        ).scalar_one():
            assert time.monotonic() < deadline, "the member's trigger never waited"
            time.sleep(0.01)
    deleting.commit()
    deleting.close()
    adding.join(20)
    assert full_counts(engine, [list_id]) == {list_id: 0}
    assert shown_counts(engine, account, [list_id]) == {list_id: 0}


def _add_member(engine: Engine, list_id: int, contact_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(list_members).values(list_id=list_id, contact_id=contact_id, added_at=BASE)
        )
