"""The message rollups (migration 0008, store/rollups.py) on both stores: they
agree with a full count whatever happens to the messages, the reads of whole
hours touch no message rows, and an upgrade counts the messages already there."""

from __future__ import annotations

import itertools
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
from sqlalchemy import Connection, Engine, delete, insert, select, text

from simgate.domain.messages import Draft
from simgate.domain.rollups import CAMPAIGN_CLICKS, DELIVERED, NOT_SENT, SENT, floor_hour
from simgate.services import dispatch
from simgate.services.accounts import create_account
from simgate.services.dashboard.overview import overview
from simgate.services.stats import overview as stats_overview
from simgate.store import campaigns as campaign_store
from simgate.store import messages as store
from simgate.store import rollups
from simgate.store.db import alembic_config
from simgate.store.links import insert_click
from simgate.store.tables import (
    accounts,
    campaign_count_deltas,
    campaign_counts,
    devices,
    link_clicks,
    message_count_deltas,
    message_counts,
    message_events,
    messages,
)
from tests.integration.conftest import explain, fold_with_worker, pending_deltas

BASE = datetime(2026, 3, 11, 9, 0)
FAR = BASE + timedelta(days=30)
CAMPAIGN_IDS = itertools.count(10_000)
Key = tuple[int, datetime, str, int]


def reached(sent_at: datetime | None, delivered_at: datetime | None) -> int:
    return DELIVERED if delivered_at else SENT if sent_at else NOT_SENT


def full_count(
    conn: Connection, accounts: list[int], campaigns: list[int]
) -> tuple[Counter[Key], Counter[tuple[int, str]]]:
    """The accounts' messages counted from scratch, hours cut in Python."""
    by_hour: Counter[Key] = Counter()
    by_campaign: Counter[tuple[int, str]] = Counter()
    query = select(
        messages.c.account_id,
        messages.c.created_at,
        messages.c.state,
        messages.c.sent_at,
        messages.c.delivered_at,
        messages.c.campaign_id,
    ).where(messages.c.account_id.in_(accounts))
    for account_id, created, state, sent, delivered, campaign_id in conn.execute(query):
        by_hour[account_id, floor_hour(created), state, reached(sent, delivered)] += 1
        if campaign_id in campaigns:
            by_campaign[campaign_id, state] += 1
    return by_hour, by_campaign


def rolled_up(
    conn: Connection, accounts: list[int], campaigns: list[int]
) -> tuple[Counter[Key], Counter[tuple[int, str]]]:
    """What the rollups say, pending deltas included, keys at zero left out."""
    by_hour: Counter[Key] = Counter()
    by_campaign: Counter[tuple[int, str]] = Counter()
    for table in (message_counts, message_count_deltas):
        query = select(table).where(table.c.account_id.in_(accounts))
        for account_id, hour, state, reach, n in conn.execute(query):
            by_hour[account_id, hour, state, reach] += n
    for table in (campaign_counts, campaign_count_deltas):
        query = select(table).where(
            table.c.campaign_id.in_(campaigns), table.c.state != CAMPAIGN_CLICKS
        )
        for campaign_id, state, n in conn.execute(query):
            by_campaign[campaign_id, state] += n
    return +by_hour, +by_campaign


picks = st.lists(st.integers(0, 10**6), min_size=1, max_size=4)


def draft(send_at: datetime | None = None) -> Draft:
    return Draft(
        id_sms_api=secrets.token_hex(8),
        client_id=False,
        request_hash="",
        phone_number="+33612345678",
        text="hi",
        message="hi",
        url=None,
        short_code=None,
        priority=1,
        encoding="GSM-7",
        segments=1,
        send_at=send_at,
    )


class Rollups(RuleBasedStateMachine):
    """Messages accepted, dispatched, reported, failed, expired, cancelled and
    deleted through the store's own functions, in any order. Each run has
    accounts, a phone and campaigns of its own in the test's store, so that a
    run replays the same way however many ran before it."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.campaigns = [next(CAMPAIGN_IDS), next(CAMPAIGN_IDS)]
        with engine.begin() as conn:
            self.accounts = [
                conn.execute(
                    insert(accounts)
                    .values(
                        email=f"{secrets.token_hex(6)}@example.com",
                        timezone="UTC",
                        region="FR",
                        created_at=BASE,
                    )
                    .returning(accounts.c.id)
                ).scalar_one()
                for _ in range(2)
            ]
            self.device_id = conn.execute(
                insert(devices)
                .values(
                    account_id=self.accounts[0],
                    name="p",
                    token_hash=secrets.token_hex(8),
                    rate_per_minute=30,
                    created_at=BASE,
                )
                .returning(devices.c.id)
            ).scalar_one()

    def _ids(self, *states: str) -> list[int]:
        query = select(messages.c.id).where(
            messages.c.state.in_(states), messages.c.account_id.in_(self.accounts)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(messages.c.id)).scalars())

    def _pick(self, found: list[int], chosen: list[int]) -> list[int]:
        return sorted({found[i % len(found)] for i in chosen}) if found else []

    @rule(
        account=st.integers(0, 1),
        count=st.integers(1, 4),
        at=st.integers(0, 5 * 3600 * 1000),
        scheduled=st.booleans(),
        campaign=st.sampled_from((None, 0, 1)),
    )
    def accept(
        self, account: int, count: int, at: int, scheduled: bool, campaign: int | None
    ) -> None:
        now = BASE + timedelta(milliseconds=at)
        later = now + timedelta(hours=1) if scheduled else None
        drafts = [draft(later) for _ in range(count)]
        with self.engine.begin() as conn:
            campaign_id = None if campaign is None else self.campaigns[campaign]
            store.insert_new(conn, self.accounts[account], drafts, now, campaign_id=campaign_id)

    @rule()
    def promote(self) -> None:
        with self.engine.begin() as conn:
            store.promote_due(conn, FAR)

    @rule(chosen=picks)
    def hand_over(self, chosen: list[int]) -> None:
        ids = self._pick(self._ids("queued"), chosen)
        if not ids:
            return
        with self.engine.begin() as conn:
            store.hand_over(conn, ids, self.device_id, BASE, BASE + timedelta(minutes=5))

    @rule(chosen=picks)
    def ack(self, chosen: list[int]) -> None:
        ids = self._pick(self._ids("dispatched"), chosen)
        if not ids:
            return
        with self.engine.begin() as conn:
            store.mark_acked(conn, [(i, BASE, BASE + timedelta(hours=1)) for i in ids])

    @rule(chosen=picks)
    def sent(self, chosen: list[int]) -> None:
        ids = self._pick(self._ids("dispatched"), chosen)
        if ids:
            with self.engine.begin() as conn:
                store.mark_sent(conn, [(i, BASE) for i in ids])

    @rule(chosen=picks)
    def delivered(self, chosen: list[int]) -> None:
        ids = self._pick(self._ids("sent"), chosen)
        if ids:
            with self.engine.begin() as conn:
                store.mark_delivered(conn, [(i, BASE) for i in ids])

    @rule(chosen=picks)
    def fail(self, chosen: list[int]) -> None:
        # Sent ones too: a failed delivery report after sending.
        ids = self._pick(self._ids("scheduled", "queued", "dispatched", "sent"), chosen)
        with self.engine.begin() as conn:
            store.mark_failed(conn, ids, "test", BASE)

    @rule(chosen=picks)
    def expire(self, chosen: list[int]) -> None:
        ids = self._pick(self._ids("scheduled", "queued"), chosen)
        with self.engine.begin() as conn:
            store.mark_expired(conn, ids, "validity", BASE)

    @rule(chosen=picks)
    def retry(self, chosen: list[int]) -> None:
        for message_id in self._pick(self._ids("dispatched"), chosen):
            with self.engine.begin() as conn:
                store.requeue_for_retry(conn, message_id, 1)

    @rule(chosen=picks)
    def touch(self, chosen: list[int]) -> None:
        """An update that changes no counted column."""
        for message_id in self._pick(self._ids("queued", "sent", "failed"), chosen):
            with self.engine.begin() as conn:
                store.set_attempts(conn, message_id, 2)

    @rule()
    def release(self) -> None:
        with self.engine.begin() as conn:
            store.release_unacked(conn, self.device_id)

    @rule()
    def lapse(self) -> None:
        with self.engine.begin() as conn:
            store.requeue_unacked_expired(conn, FAR)

    @rule(campaign=st.sampled_from((0, 1)))
    def cancel(self, campaign: int) -> None:
        """What services/campaigns.cancel_campaign does to the messages."""
        with self.engine.begin() as conn:
            unsent = campaign_store.unsent_messages(conn, self.campaigns[campaign])
            dispatch.fail_messages(conn, unsent, "cancelled", BASE, now=BASE)

    @rule(chosen=picks)
    def delete(self, chosen: list[int]) -> None:
        """A prune of settled messages (with their events)."""
        ids = self._pick(self._ids("received", "failed", "expired"), chosen)
        with self.engine.begin() as conn:
            conn.execute(delete(message_events).where(message_events.c.message_id.in_(ids)))
            conn.execute(delete(messages).where(messages.c.id.in_(ids)))

    @precondition(lambda self: self.engine.dialect.name == "postgresql")
    @rule()
    def compact(self) -> None:
        with self.engine.begin() as conn:
            assert rollups.compact(conn)
        rollups.vacuum_deltas(self.engine)

    @rule(
        account=st.integers(0, 1),
        since=st.none() | st.integers(-60, 6 * 60),
        until=st.none() | st.integers(-60, 6 * 60),
    )
    def read_a_range(self, account: int, since: int | None, until: int | None) -> None:
        """Any range, on the hour or not, against a count of its rows."""
        self._check_range(self.accounts[account], (since, until))

    def _check_range(self, account_id: int, *ranges: tuple[int | None, int | None]) -> None:
        """Minutes from BASE; None: unbounded."""
        query = select(
            messages.c.state, messages.c.sent_at, messages.c.delivered_at, messages.c.created_at
        ).where(messages.c.account_id == account_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            for since, until in ranges:
                start = None if since is None else BASE + timedelta(minutes=since)
                end = None if until is None else BASE + timedelta(minutes=until)
                expected: Counter[tuple[str, int]] = Counter()
                for state, sent, delivered, created in rows:
                    if (start is None or created >= start) and (end is None or created < end):
                        expected[state, reached(sent, delivered)] += 1
                assert +rollups.tally(conn, account_id, start, end) == expected, (start, end)

    @invariant()
    def awkward_ranges_agree(self) -> None:
        """Two edges around whole hours, one edge only, and none at all."""
        awkward = ((25, 155), (None, 75), (45, None), (70, 110), (60, 180))
        self._check_range(self.accounts[0], *awkward)

    @invariant()
    def rollups_agree_with_a_full_count(self) -> None:
        with self.engine.connect() as conn:
            mine = self.accounts, self.campaigns
            assert rolled_up(conn, *mine) == full_count(conn, *mine)


def test_rollups_agree_with_a_full_count(engine: Engine) -> None:
    run_state_machine_as_test(
        lambda: Rollups(engine),
        settings=settings(
            max_examples=10,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


# --- the reads touch no messages for whole hours -----------------------------------


MESSAGES = re.compile(r"\bmessages\b")


def test_overview_and_stats_read_rollups_only_for_whole_hours(
    engine: Engine, statements: list[tuple[str, Any]]
) -> None:
    account, _ = create_account(engine, "utc@example.com", "UTC", "FR")
    now = BASE + timedelta(minutes=20)
    statements.clear()
    overview(engine, account, now)
    stats_overview(engine, account.id, BASE - timedelta(days=3), BASE)
    stats_overview(engine, account.id, None, None)
    rollup_reads = [(sql, p) for sql, p in statements if "message_counts" in sql]
    assert len(rollup_reads) == 5  # today, week, 24 hours, two stats ranges
    # The only statement that reads messages is the overview's capped backlog.
    reading_messages = [sql for sql, _ in statements if MESSAGES.search(sql)]
    assert len(reading_messages) == 1 and "LIMIT" in reading_messages[0].upper()
    for sql, params in rollup_reads:
        plan = explain(engine, sql, params)
        assert "SCAN message_counts" not in plan and "Seq Scan" not in plan, plan
        assert "SCAN message_count_deltas" not in plan, plan


def test_a_half_hour_time_zone_counts_its_first_hour_from_the_messages(
    engine: Engine, statements: list[tuple[str, Any]]
) -> None:
    """Kolkata's midnight is at :30 UTC: today's figures add the messages of
    that half hour to the whole hours after it, and nothing before."""
    account, _ = create_account(engine, "in@example.com", "Asia/Kolkata", "IN")
    midnight = datetime(2026, 3, 10, 18, 30)  # 00:00 in Kolkata, 11 March
    with engine.begin() as conn:
        for minutes in (-1, 0, 29, 31, 95):
            store.insert_new(conn, account.id, [draft()], midnight + timedelta(minutes=minutes))
        conn.execute(messages.update().values(state="sent", sent_at=midnight))
    statements.clear()
    figures = overview(engine, account, midnight + timedelta(hours=3))
    assert figures.today.sent == 4  # not the one a minute before midnight
    edges = [sql for sql, _ in statements if MESSAGES.search(sql) and "LIMIT" not in sql.upper()]
    assert len(edges) == 2  # today's and this week's first half hour


# --- the upgrade counts what is there ---------------------------------------------


def test_the_upgrade_counts_the_messages_already_stored(old_store: Engine) -> None:
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
        for i, (created, state, sent, delivered, campaign) in enumerate(
            (
                (BASE, "queued", None, None, None),
                (BASE + timedelta(minutes=59, seconds=59.5), "sent", BASE, None, 9001),
                (BASE + timedelta(hours=1), "received", BASE, BASE, 9001),
                (BASE + timedelta(hours=1, minutes=7), "failed", BASE, None, None),
            )
        ):
            conn.execute(
                insert(messages).values(
                    account_id=1,
                    id_sms_api=f"m{i}",
                    request_hash="",
                    phone_number="+33612345678",
                    message="hi",
                    priority=1,
                    encoding="GSM-7",
                    segments=1,
                    state=state,
                    send_at=created,
                    created_at=created,
                    attempts=0,
                    sent_at=sent,
                    delivered_at=delivered,
                    campaign_id=campaign,
                )
            )
        for preview in (False, True, False):  # two clicks by people on m1, one preview
            insert_click(conn, 1, 2, BASE, "agent", None, preview)
    command.upgrade(config, "head")
    with old_store.connect() as conn:
        assert campaign_store.clicks_by_campaign(conn, [9001]) == {9001: 2}
        assert rolled_up(conn, [1], [9001]) == full_count(conn, [1], [9001])
        assert rollups.tally(conn, 1, BASE, BASE + timedelta(hours=1)) == {
            ("queued", NOT_SENT): 1,
            ("sent", SENT): 1,
        }
        assert campaign_store.states_by_campaign(conn, [9001]) == {9001: {"sent": 1, "received": 1}}
    # The triggers run from now on.
    with old_store.begin() as conn:
        store.mark_delivered(conn, [(2, BASE)])
    with old_store.connect() as conn:
        assert rolled_up(conn, [1], [9001]) == full_count(conn, [1], [9001])


# --- the compactor (PostgreSQL) ----------------------------------------------------


def test_the_rollups_worker_folds_the_deltas_in(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite adds to the counts in place: no deltas to fold")
    account, _ = create_account(engine, "fold@example.com")
    with engine.begin() as conn:
        store.insert_new(conn, account.id, [draft(), draft()], BASE, campaign_id=77)

    deltas = (message_count_deltas, campaign_count_deltas)
    # One delta per table and statement: executemany runs two.
    assert pending_deltas(engine, *deltas) == 4
    fold_with_worker(engine, *deltas)
    with engine.connect() as conn:
        assert rollups.tally(conn, account.id, None, None) == {("queued", NOT_SENT): 2}
        folded = select(message_counts.c.n).where(message_counts.c.account_id == account.id)
        assert conn.execute(folded).scalar_one() == 2
        assert campaign_store.states_by_campaign(conn, [77]) == {77: {"queued": 2}}


def test_campaign_clicks_are_counted_as_they_come(engine: Engine) -> None:
    """Clicks by people on a campaign's links (not previews, not other
    messages') are counted by the link_clicks triggers, beside the states."""
    account, _ = create_account(engine, "clicks@example.com", "UTC", "FR")
    with engine.begin() as conn:
        ids = [
            conn.execute(
                insert(messages)
                .values(
                    account_id=account.id,
                    id_sms_api=f"c{i}",
                    request_hash="",
                    phone_number="+33612345678",
                    message="hi",
                    priority=1,
                    encoding="GSM-7",
                    segments=1,
                    state="sent",
                    send_at=BASE,
                    created_at=BASE,
                    attempts=0,
                    campaign_id=campaign,
                )
                .returning(messages.c.id)
            ).scalar_one()
            for i, campaign in enumerate((7001, 7001, 7002, None))
        ]
        clicks = [
            (ids[0], False),
            (ids[0], True),
            (ids[1], False),
            (ids[2], False),
            (ids[3], False),
        ]
        for message_id, preview in clicks:
            insert_click(conn, account.id, message_id, BASE, "agent", None, preview)
    with engine.begin() as conn:
        rollups.compact(conn)
        assert campaign_store.clicks_by_campaign(conn, [7001, 7002, 7003]) == {7001: 2, 7002: 1}
        assert campaign_store.states_by_campaign(conn, [7001]) == {7001: {"sent": 2}}
        conn.execute(delete(link_clicks).where(link_clicks.c.message_id == ids[1]))
    with engine.connect() as conn:
        assert campaign_store.clicks_by_campaign(conn, [7001, 7002]) == {7001: 1, 7002: 1}
