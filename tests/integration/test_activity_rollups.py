"""The activity rollups (migration 0008, store/activity.py) on both stores:
whatever happens to received SMS, clicks, calls, qualifications and contacts,
they agree with a full count and the reads answer what the COUNTs they
replaced answered; the reads of whole hours touch no base rows; an upgrade
counts the rows already there."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from alembic import command
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Connection, Engine, delete, func, insert, select, text, update

from simgate.domain.activity import (
    CLICKS,
    PREVIEWS,
    RECEIVED,
    LabelTotal,
    by_kind,
    call_key,
    label_key,
    qualified_key,
)
from simgate.domain.rollups import floor_hour
from simgate.services.accounts import create_account
from simgate.services.call_log import qualification_stats
from simgate.services.dashboard.links import link_totals
from simgate.services.stats import overview as stats_overview
from simgate.store import activity, rollups
from simgate.store import calls as call_store
from simgate.store import contacts as contact_store
from simgate.store import stats as stats_store
from simgate.store.db import alembic_config
from simgate.store.incoming import insert_sms
from simgate.store.tables import (
    accounts,
    activity_count_deltas,
    activity_counts,
    calls,
    contact_count_deltas,
    contact_counts,
    contacts,
    devices,
    incoming_sms,
    link_clicks,
    messages,
    qualification_options,
    qualifications,
)
from tests.integration.conftest import explain, fold_with_worker, pending_deltas

BASE = datetime(2026, 3, 11, 9, 0)
KINDS = ("incoming_call", "outgoing_call", "missed_call")
# Ties, a colon, accents, and one longer than a PostgreSQL key (keyed by md5).
LABELS = ("Intéressé", "à rappeler", "a:b", "A", "x" * 1200)
NUMBERS = ("+33612345601", "+33612345602", "+33612345603")
Key = tuple[int, datetime, str]
picks = st.lists(st.integers(0, 10**6), min_size=1, max_size=3)
moments = st.integers(0, 5 * 3600 * 1000)


def stored_label_key(option_id: int | None, label: str, postgres: bool) -> str:
    """The key migration 0008 stores a label under."""
    if postgres and len(label.encode()) > 1000:
        digest = hashlib.md5(label.encode(), usedforsecurity=False).hexdigest()
        return f"label#{'' if option_id is None else option_id}:{digest}"
    return label_key(option_id, label)


def full_count(conn: Connection, mine: list[int]) -> tuple[Counter[Key], Counter[int]]:
    """The accounts' activity counted from scratch, hours cut in Python."""
    postgres = conn.dialect.name == "postgresql"
    found: Counter[Key] = Counter()
    for account_id, at in conn.execute(
        select(incoming_sms.c.account_id, incoming_sms.c.received_at).where(
            incoming_sms.c.account_id.in_(mine)
        )
    ):
        found[account_id, floor_hour(at), RECEIVED] += 1
    for account_id, at, preview in conn.execute(
        select(link_clicks.c.account_id, link_clicks.c.clicked_at, link_clicks.c.is_preview).where(
            link_clicks.c.account_id.in_(mine)
        )
    ):
        found[account_id, floor_hour(at), PREVIEWS if preview else CLICKS] += 1
    quals = conn.execute(
        select(qualifications.c.call_id, qualifications.c.account_id, qualifications.c.text)
        .add_columns(qualifications.c.option_id)
        .where(qualifications.c.call_id.is_not(None))
    ).all()
    for call_id, account_id, kind, at in conn.execute(
        select(calls.c.id, calls.c.account_id, calls.c.kind, calls.c.call_time).where(
            calls.c.account_id.in_(mine)
        )
    ):
        hour = floor_hour(at)
        found[account_id, hour, call_key(kind)] += 1
        its = [q for q in quals if q.call_id == call_id]
        if its:
            found[account_id, hour, qualified_key(kind)] += 1
        for q in its:
            if q.account_id == account_id:
                found[account_id, hour, stored_label_key(q.option_id, q.text, postgres)] += 1
    live: Counter[int] = Counter(
        conn.execute(
            select(contacts.c.account_id).where(
                contacts.c.account_id.in_(mine), contacts.c.deleted_at.is_(None)
            )
        ).scalars()
    )
    return found, live


def rolled_up(conn: Connection, mine: list[int]) -> tuple[Counter[Key], Counter[int]]:
    """What the rollups hold, pending deltas included, keys at zero left out."""
    found: Counter[Key] = Counter()
    for table in (activity_counts, activity_count_deltas):
        query = select(table).where(table.c.account_id.in_(mine))
        for account_id, hour, key, n in conn.execute(query):
            found[account_id, hour, key] += n
    live: Counter[int] = Counter()
    for table in (contact_counts, contact_count_deltas):
        for account_id, n in conn.execute(select(table).where(table.c.account_id.in_(mine))):
            live[account_id] += n
    return +found, +live


def labels_as_before(
    conn: Connection, account_id: int, since: datetime | None, until: datetime | None
) -> list[LabelTotal]:
    """The query qualifications/stats ran before the rollups."""
    q = qualifications.c
    query = (
        select(q.text, func.max(q.option_id), func.count())
        .join(calls, calls.c.id == q.call_id)
        .where(calls.c.account_id == account_id, q.account_id == account_id)
    )
    if since is not None:
        query = query.where(calls.c.call_time >= since)
    if until is not None:
        query = query.where(calls.c.call_time < until)
    query = query.group_by(q.text).order_by(func.count().desc(), q.text)
    return [LabelTotal(label, option, int(n)) for label, option, n in conn.execute(query)]


def _one(conn: Connection, table: Any, **values: Any) -> int:
    return int(conn.execute(insert(table).values(**values).returning(table.c.id)).scalar_one())


def sms(conn: Connection, account_id: int, at: datetime) -> None:
    """An SMS received by no phone the store still knows."""
    values = {"account_id": account_id, "from_number": NUMBERS[0], "text": "hi"}
    conn.execute(insert(incoming_sms).values(**values, received_at=at))


def call(
    conn: Connection, account_id: int, kind: str, at: datetime, call_id: int | None = None
) -> int:
    values = {"account_id": account_id, "kind": kind, "phone_number": NUMBERS[0]}
    if call_id is not None:
        values["id"] = call_id
    return _one(conn, calls, **values, call_time=at, duration="0")


class Activity(RuleBasedStateMachine):
    """SMS received, clicks, calls, qualifications and contacts added, changed
    and deleted, in any order; accounts of its own for each run."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        with engine.begin() as conn:
            self.accounts = [
                _one(
                    conn,
                    accounts,
                    email=f"{secrets.token_hex(6)}@example.com",
                    timezone="UTC",
                    region="FR",
                    created_at=BASE,
                )
                for _ in range(2)
            ]
            self.device_id = _one(
                conn,
                devices,
                account_id=self.accounts[0],
                name="p",
                token_hash=secrets.token_hex(8),
                rate_per_minute=30,
                created_at=BASE,
            )
            self.options = [
                _one(conn, qualification_options, account_id=a, label="o", created_at=BASE)
                for a in self.accounts
            ]
            self.messages = [
                _one(
                    conn,
                    messages,
                    account_id=a,
                    id_sms_api=secrets.token_hex(8),
                    request_hash="",
                    phone_number=NUMBERS[0],
                    message="hi",
                    priority=1,
                    encoding="GSM-7",
                    segments=1,
                    state="received",
                    send_at=BASE,
                    created_at=BASE,
                    attempts=0,
                )
                for a in self.accounts
            ]

    def _ids(self, table: Any) -> list[int]:
        query = select(table.c.id).where(table.c.account_id.in_(self.accounts))
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(table.c.id)).scalars())

    def _pick(self, table: Any, chosen: list[int]) -> list[int]:
        found = self._ids(table)
        return sorted({found[i % len(found)] for i in chosen}) if found else []

    @rule(account=st.integers(0, 1), at=moments, count=st.integers(1, 3))
    def receive(self, account: int, at: int, count: int) -> None:
        with self.engine.begin() as conn:
            for _ in range(count):
                moment = BASE + timedelta(milliseconds=at)
                insert_sms(conn, self.accounts[account], self.device_id, NUMBERS[0], "hi", moment)

    @rule(chosen=picks, at=moments)
    def move_sms(self, chosen: list[int], at: int) -> None:
        ids = self._pick(incoming_sms, chosen)
        with self.engine.begin() as conn:
            conn.execute(
                update(incoming_sms)
                .where(incoming_sms.c.id.in_(ids))
                .values(received_at=BASE + timedelta(milliseconds=at))
            )

    @rule(chosen=picks)
    def delete_sms(self, chosen: list[int]) -> None:
        ids = self._pick(incoming_sms, chosen)
        with self.engine.begin() as conn:
            conn.execute(delete(incoming_sms).where(incoming_sms.c.id.in_(ids)))

    @rule(
        account=st.integers(0, 1),
        at=moments,
        previews=st.lists(st.booleans(), min_size=1, max_size=3),
        no_account=st.booleans(),
    )
    def click(self, account: int, at: int, previews: list[bool], no_account: bool) -> None:
        """Clicks in one statement; a click stored before link_clicks had an
        account counts for none."""
        rows = [
            {
                "message_id": self.messages[account],
                "account_id": None if no_account else self.accounts[account],
                "clicked_at": BASE + timedelta(milliseconds=at),
                "is_preview": preview,
            }
            for preview in previews
        ]
        with self.engine.begin() as conn:
            conn.execute(insert(link_clicks), rows)

    @rule(chosen=picks, at=moments, preview=st.booleans())
    def change_clicks(self, chosen: list[int], at: int, preview: bool) -> None:
        ids = self._pick(link_clicks, chosen)
        with self.engine.begin() as conn:
            conn.execute(
                update(link_clicks)
                .where(link_clicks.c.id.in_(ids))
                .values(clicked_at=BASE + timedelta(milliseconds=at), is_preview=preview)
            )

    @rule(chosen=picks)
    def delete_clicks(self, chosen: list[int]) -> None:
        ids = self._pick(link_clicks, chosen)
        with self.engine.begin() as conn:
            conn.execute(delete(link_clicks).where(link_clicks.c.id.in_(ids)))

    @rule(account=st.integers(0, 1), kind=st.sampled_from(KINDS), at=moments)
    def call(self, account: int, kind: str, at: int) -> None:
        with self.engine.begin() as conn:
            moment = BASE + timedelta(milliseconds=at)
            call_store.insert_call(
                conn, self.accounts[account], self.device_id, kind, NUMBERS[1], moment, "0"
            )

    @rule(chosen=picks, kind=st.sampled_from(KINDS), at=moments)
    def change_calls(self, chosen: list[int], kind: str, at: int) -> None:
        ids = self._pick(calls, chosen)
        with self.engine.begin() as conn:
            conn.execute(
                update(calls)
                .where(calls.c.id.in_(ids))
                .values(kind=kind, call_time=BASE + timedelta(milliseconds=at))
            )

    @rule(chosen=picks)
    def delete_calls(self, chosen: list[int]) -> None:
        """With their qualifications first (the foreign key)."""
        ids = self._pick(calls, chosen)
        with self.engine.begin() as conn:
            conn.execute(delete(qualifications).where(qualifications.c.call_id.in_(ids)))
            conn.execute(delete(calls).where(calls.c.id.in_(ids)))

    @rule(
        chosen=st.integers(0, 10**6),
        label=st.sampled_from(LABELS),
        option=st.sampled_from((None, 0, 1)),
        other_account=st.booleans(),
        no_call=st.booleans(),
    )
    def qualify(
        self, chosen: int, label: str, option: int | None, other_account: bool, no_call: bool
    ) -> None:
        """A qualification of a call (or of none); by the other account now and
        then, which neither account's labels count."""
        found = self._pick(calls, [chosen])
        call_id = None if no_call or not found else found[0]
        with self.engine.begin() as conn:
            owner = self.accounts[0]
            if call_id is not None:
                owner = conn.execute(
                    select(calls.c.account_id).where(calls.c.id == call_id)
                ).scalar_one()
            if other_account:
                owner = self.accounts[1] if owner == self.accounts[0] else self.accounts[0]
            option_id = None if option is None else self.options[option]
            call_store.insert_qualification(
                conn, owner, call_id, "interface", NUMBERS[1], label, BASE, option_id
            )

    @rule(
        chosen=picks,
        to_call=st.none() | st.integers(0, 10**6),
        label=st.none() | st.sampled_from(LABELS),
    )
    def change_qualifications(
        self, chosen: list[int], to_call: int | None, label: str | None
    ) -> None:
        """Move qualifications to another call, or relabel them."""
        ids = self._pick(qualifications, chosen)
        values: dict[str, Any] = {}
        if to_call is not None:
            moved: list[int | None] = [*self._pick(calls, [to_call]), None]
            values["call_id"] = moved[0]
        if label is not None:
            values["text"] = label
        if not values:
            return
        with self.engine.begin() as conn:
            conn.execute(update(qualifications).where(qualifications.c.id.in_(ids)).values(values))

    @rule(chosen=picks)
    def delete_qualifications(self, chosen: list[int]) -> None:
        ids = self._pick(qualifications, chosen)
        with self.engine.begin() as conn:
            conn.execute(delete(qualifications).where(qualifications.c.id.in_(ids)))

    @rule(account=st.integers(0, 1), numbers=st.sets(st.sampled_from(NUMBERS), min_size=1))
    def upsert_contacts(self, account: int, numbers: set[str]) -> None:
        """New contacts, or old ones updated (and undeleted), in one statement."""
        rows = [
            {
                "account_id": self.accounts[account],
                "phone_number": number,
                "firstname": "A",
                "lastname": "B",
                "address": "",
                "email": "",
                "created_at": BASE,
                "updated_at": BASE,
            }
            for number in sorted(numbers)
        ]
        with self.engine.begin() as conn:
            contact_store.upsert(conn, rows)

    @rule(chosen=picks)
    def soft_delete_contacts(self, chosen: list[int]) -> None:
        ids = self._pick(contacts, chosen)
        with self.engine.begin() as conn:
            conn.execute(update(contacts).where(contacts.c.id.in_(ids)).values(deleted_at=BASE))

    @rule(chosen=picks)
    def delete_contacts(self, chosen: list[int]) -> None:
        ids = self._pick(contacts, chosen)
        with self.engine.begin() as conn:
            conn.execute(delete(contacts).where(contacts.c.id.in_(ids)))

    @precondition(lambda self: self.engine.dialect.name == "postgresql")
    @rule()
    def compact(self) -> None:
        with self.engine.begin() as conn:
            assert rollups.compact(conn)

    @rule(
        account=st.integers(0, 1),
        since=st.none() | st.integers(-60, 6 * 60),
        until=st.none() | st.integers(-60, 6 * 60),
    )
    def read_a_range(self, account: int, since: int | None, until: int | None) -> None:
        """Any range, on the hour or not, against the COUNTs it replaced."""
        self._check_range(self.accounts[account], (since, until))

    def _check_range(self, account_id: int, *ranges: tuple[int | None, int | None]) -> None:
        """Minutes from BASE; None: unbounded."""
        with self.engine.connect() as conn:
            for since, until in ranges:
                start = None if since is None else BASE + timedelta(minutes=since)
                end = None if until is None else BASE + timedelta(minutes=until)
                found = activity.tally(conn, account_id, start, end, labels=True)
                kinds = call_store.counts_by_kind(conn, account_id, start, end)
                expected: Counter[str] = Counter()
                expected[RECEIVED] = stats_store.received_count(conn, account_id, start, end)
                expected[CLICKS], expected[PREVIEWS] = stats_store.click_counts(
                    conn, account_id, start, end
                )
                for kind in kinds:
                    expected[call_key(kind.kind)] = kind.calls
                    expected[qualified_key(kind.kind)] = kind.qualified
                labels = activity.label_totals(conn, account_id, found)
                assert labels == labels_as_before(conn, account_id, start, end), (start, end)
                plain = Counter({k: n for k, n in found.items() if not k.startswith("label")})
                assert plain == +expected, (start, end)
                assert [(k.kind, k.calls, k.qualified) for k in by_kind(found)] == sorted(
                    (k.kind, k.calls, k.qualified) for k in kinds
                )

    @invariant()
    def awkward_ranges_agree(self) -> None:
        """Two edges around whole hours, one edge only, and none at all."""
        awkward = ((25, 155), (None, 75), (45, None), (70, 110), (60, 180), (None, None))
        self._check_range(self.accounts[0], *awkward)

    @invariant()
    def rollups_agree_with_a_full_count(self) -> None:
        with self.engine.connect() as conn:
            assert rolled_up(conn, self.accounts) == full_count(conn, self.accounts)
            for account_id in self.accounts:
                live = conn.execute(
                    select(func.count()).where(
                        contacts.c.account_id == account_id, contacts.c.deleted_at.is_(None)
                    )
                ).scalar_one()
                assert activity.live_contacts(conn, account_id) == live


def test_activity_rollups_agree_with_a_full_count(engine: Engine) -> None:
    run_state_machine_as_test(
        lambda: Activity(engine),
        settings=settings(
            max_examples=10,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


# --- two transactions qualifying one call (PostgreSQL) -------------------------------


def test_a_call_qualified_twice_at_once_counts_once(engine: Engine) -> None:
    """The second transaction's trigger waits for the first one's lock on the
    call, then sees its qualification: the call counts once as qualified."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer")
    account, _ = create_account(engine, "twice@example.com", "UTC", "FR")
    with engine.begin() as conn:
        call_id = call(conn, account.id, "incoming_call", BASE)
    first, second = engine.connect(), engine.connect()
    try:
        first.begin()
        call_store.insert_qualification(first, account.id, call_id, "mobile", "x", "A", BASE)
        second.begin()
        waited = asyncio.run(
            _second_qualifies_while_first_holds(engine, first, second, account.id, call_id)
        )
        assert waited
    finally:
        first.close()
        second.close()
    with engine.connect() as conn:
        found = activity.tally(conn, account.id, None, None, labels=True)
    assert found[qualified_key("incoming_call")] == 1
    assert found[label_key(None, "A")] == 2


async def _second_qualifies_while_first_holds(
    engine: Engine, first: Connection, second: Connection, account_id: int, call_id: int
) -> bool:
    """True when the second transaction waited for a lock the first held
    (without the trigger's lock it would have committed first)."""

    def qualify() -> None:
        call_store.insert_qualification(second, account_id, call_id, "mobile", "x", "A", BASE)
        second.commit()

    def waiting_for_a_lock() -> bool:
        with engine.connect() as conn:
            query = text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return bool(conn.execute(query).scalar_one())

    task = asyncio.create_task(asyncio.to_thread(qualify))
    async with asyncio.timeout(10):
        while not task.done() and not await asyncio.to_thread(waiting_for_a_lock):
            await asyncio.sleep(0.01)
    waited = not task.done()
    first.commit()
    await asyncio.wait_for(task, 10)
    return waited


# --- the reads touch no base rows for whole hours ------------------------------------


BASE_ROWS = re.compile(r"\b(incoming_sms|link_clicks|calls|qualifications|contacts)\b")


def test_the_figures_read_only_rollups_for_whole_hours(
    engine: Engine, statements: list[tuple[str, Any]]
) -> None:
    account, _ = create_account(engine, "whole@example.com", "UTC", "FR")
    with engine.begin() as conn:
        sms(conn, account.id, BASE)
        call(conn, account.id, "missed_call", BASE)
    statements.clear()
    stats_overview(engine, account.id, BASE - timedelta(days=3), BASE + timedelta(hours=2))
    stats_overview(engine, account.id, None, None)
    qualification_stats(engine, account.id, None, BASE + timedelta(days=1))
    assert link_totals(engine, account.id) == (0, 0)
    reading_rows = [sql for sql, _ in statements if BASE_ROWS.search(sql)]
    assert reading_rows == []
    reads = [
        (sql, p) for sql, p in statements if "activity_counts" in sql or "contact_counts" in sql
    ]
    assert len(reads) == 6  # two overviews (activity, contacts), stats, links
    for sql, params in reads:
        plan = explain(engine, sql, params)
        assert "Seq Scan" not in plan, plan
        for table in ("activity_counts", "activity_count_deltas", "contact_count_deltas"):
            assert f"SCAN {table}" not in plan, plan


# --- the upgrade counts what is there ------------------------------------------------


def test_the_upgrade_counts_the_activity_already_stored(old_store: Engine) -> None:
    config = alembic_config(old_store)
    command.upgrade(config, "0007")
    postgres = old_store.dialect.name == "postgresql"
    long_label = LABELS[-1]
    with old_store.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO accounts (id, email, timezone, region, created_at)"
                " VALUES (1, 'a@example.com', 'UTC', 'FR', :now), (2, 'b@example.com', 'UTC',"
                " 'FR', :now)"
            ),
            {"now": BASE},
        )
        conn.execute(
            text(
                "INSERT INTO messages (id, account_id, id_sms_api, request_hash, phone_number,"
                " message, priority, encoding, segments, state, send_at, created_at, attempts)"
                " VALUES (1, 1, 'm', '', '+33612345678', 'hi', 1, 'GSM-7', 1, 'sent', :now,"
                " :now, 0)"
            ),
            {"now": BASE},
        )
        for at in (BASE, BASE + timedelta(minutes=61), BASE + timedelta(minutes=62)):
            sms(conn, 1, at)
        for account_id, preview in ((1, False), (1, True), (None, False)):
            conn.execute(
                insert(link_clicks).values(
                    message_id=1, account_id=account_id, clicked_at=BASE, is_preview=preview
                )
            )
        call(conn, 1, "incoming_call", BASE, call_id=1)
        call(conn, 1, "missed_call", BASE, call_id=2)
        for owner, label in ((1, "A"), (1, "A"), (2, "B"), (1, long_label)):
            call_store.insert_qualification(conn, owner, 1, "mobile", "x", label, BASE)
        for number, deleted in ((NUMBERS[0], None), (NUMBERS[1], BASE), (NUMBERS[2], None)):
            conn.execute(
                insert(contacts).values(
                    account_id=1,
                    phone_number=number,
                    firstname="",
                    lastname="",
                    address="",
                    email="",
                    created_at=BASE,
                    updated_at=BASE,
                    deleted_at=deleted,
                )
            )
    command.upgrade(config, "head")
    with old_store.connect() as conn:
        assert rolled_up(conn, [1, 2]) == full_count(conn, [1, 2])
        found = activity.tally(conn, 1, None, None, labels=True)
        assert found[RECEIVED] == 3 and found[CLICKS] == 1 and found[PREVIEWS] == 1
        assert found[call_key("incoming_call")] == 1 and found[qualified_key("incoming_call")] == 1
        assert activity.label_totals(conn, 1, found) == [
            LabelTotal("A", None, 2),
            LabelTotal(long_label, None, 1),
        ]
        assert activity.live_contacts(conn, 1) == 2
        hashed = [k for k in found if k.startswith("label#")]
        assert len(hashed) == (1 if postgres else 0)
    # The triggers run from now on.
    with old_store.begin() as conn:
        call_store.insert_qualification(conn, 1, 2, "mobile", "x", "A", BASE)
    with old_store.connect() as conn:
        assert rolled_up(conn, [1, 2]) == full_count(conn, [1, 2])


# --- the compactor folds the activity deltas in (PostgreSQL) ------------------------


def test_the_rollups_worker_folds_the_activity_deltas_in(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite adds to the counts in place: no deltas to fold")
    account, _ = create_account(engine, "fold-activity@example.com")
    with engine.begin() as conn:
        sms(conn, account.id, BASE)

    deltas = (activity_count_deltas, contact_count_deltas)
    assert pending_deltas(engine, *deltas) >= 1
    fold_with_worker(engine, *deltas)
    with engine.connect() as conn:
        assert activity.tally(conn, account.id, None, None)[RECEIVED] == 1
        folded = select(activity_counts.c.n).where(activity_counts.c.account_id == account.id)
        assert conn.execute(folded).scalar_one() == 1
