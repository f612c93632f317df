"""store/bulk on both stores: a history written in bulk reads back as if the
server had written it, and the server can go on writing after it."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import Engine, func, select

from simgate.domain.dates import utcnow
from simgate.domain.messages import Draft
from simgate.domain.sample_history import Shape, history, phone_number
from simgate.services import contact_book
from simgate.services.accounts import create_account
from simgate.store import bulk, stats
from simgate.store.db import reading
from simgate.store.messages import insert_new
from simgate.store.tables import accounts, messages, metadata
from tests.integration.test_rollups import full_count, rolled_up

SHAPE = Shape(messages=300, campaigns=3)


def test_history_reads_back_as_written(engine: Engine) -> None:
    account, _key = create_account(engine, "bulk@example.com", "Europe/Paris", "FR")
    other, _key = create_account(engine, "other@example.com", "Europe/Paris", "FR")
    now = utcnow()
    with engine.begin() as conn:
        first = bulk.first_ids(conn)
    written = bulk.load_history(engine, account.id, SHAPE, now, rows_per_commit=500)
    # A second account after the first: ids go on, no unique key collides.
    bulk.load_history(engine, other.id, Shape(messages=120, seed=9), now)
    bulk.analyze(engine)

    expected = Counter[str]()
    for batch in history(account.id, SHAPE, now, first, contacts_stamp=1):
        expected[batch.table] += len(batch.rows)
    assert written == dict(+expected)
    week_ago = now - timedelta(days=7)
    made = [
        dict(zip(b.columns, row, strict=True))
        for b in history(account.id, SHAPE, now, first, contacts_stamp=1)
        if b.table == "messages"
        for row in b.rows
    ]
    with reading(engine) as conn:
        for name, count in written.items():  # the tables that name their account
            table = metadata.tables[name]
            if "account_id" in table.c:
                query = select(func.count()).where(table.c.account_id == account.id)
                assert conn.execute(query).scalar_one() == count, name
        # Datetimes compare with bound parameters as the server's own do (on
        # SQLite: the same text), and come back equal.
        by_state = stats.sent_by_state(conn, account.id, week_ago, now)
        assert by_state == dict(Counter(m["state"] for m in made if m["created_at"] >= week_ago))
        stored = conn.execute(
            select(messages.c.created_at, messages.c.delivered_at)
            .where(messages.c.account_id == account.id)
            .order_by(messages.c.id)
        ).all()
        assert [tuple(r) for r in stored] == [(m["created_at"], m["delivered_at"]) for m in made]
        # The rollups (kept by triggers) count what was loaded.
        campaigns = sorted({m["campaign_id"] for m in made if m.get("campaign_id")})
        assert campaigns
        both = [account.id, other.id]
        hours, states = rolled_up(conn, both, campaigns)
        states = +Counter({k: n for k, n in states.items() if not k[1].startswith("+")})
        assert (hours, states) == full_count(conn, both, campaigns)  # "+clicks" etc. aside
        stamp = conn.execute(
            select(accounts.c.contacts_stamp).where(accounts.c.id == account.id)
        ).scalar_one()
    assert stamp == 1
    # The contacts' search index sees the names written in bulk.
    found = contact_book.search(engine, account, "dubois", "smart", False, 5)
    assert found and all("Dubois" in f.contact.lastname for f in found)


def test_server_writes_go_on_after_a_bulk_load(engine: Engine) -> None:
    account, _key = create_account(engine, "after@example.com", "Europe/Paris", "FR")
    now = utcnow()
    bulk.load_history(engine, account.id, Shape(messages=150, campaigns=0), now)
    assert bulk.load_scheduled(engine, account.id, 200, now) == 200
    with engine.begin() as conn:
        before = conn.execute(select(func.max(messages.c.id))).scalar_one()
        # Ids from the store's own sequence (PostgreSQL) land after the bulk's.
        fresh = Draft("after0000000001", False, "", phone_number(10**6), "hi", "hi", None, None,
                      1, "GSM-7", 1, None)  # fmt: skip
        insert_new(conn, account.id, [fresh], now)
        after = conn.execute(select(func.max(messages.c.id))).scalar_one()
        waiting = conn.execute(
            select(func.count()).where(
                messages.c.account_id == account.id, messages.c.state == "scheduled"
            )
        ).scalar_one()
    assert after == before + 1
    assert waiting == 200
