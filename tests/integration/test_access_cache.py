"""The access cache (services/access_cache): what an API request reads before
it writes (the account behind a key, its policy, whether its opt-out list is
empty) is kept a second, and a change made through this engine is obeyed by
the very next request. Also the SQLite insert path of messages, which skips
SQLAlchemy's statement machinery: it must store what SQLAlchemy stores and
wake the dispatcher as before."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert, select, text

from simgate.config import Settings
from simgate.domain.messages import Draft
from simgate.errors import AuthError
from simgate.services import access_cache, sending_policy
from simgate.services import suppressions as optouts
from simgate.services.accounts import (
    Account,
    authenticate,
    cached_account,
    create_account,
    list_keys,
    revoke_key,
)
from simgate.services.messages import accept_messages
from simgate.services.policy import update_policy
from simgate.store import messages as message_store
from simgate.store import suppressions as suppression_store
from simgate.store.db import make_engine, run_write
from simgate.store.notify import watch_commits
from simgate.store.tables import messages

NUMBER = "+33612345678"


@pytest.fixture
def account(engine: Engine) -> tuple[Account, str]:
    return create_account(engine, "cache@example.com")


def sign_in(engine: Engine, login: str, key: str) -> Account:
    return run_write(engine, lambda conn: authenticate(conn, login, key))


def facts(engine: Engine, account_id: int) -> access_cache.SendingFacts:
    return run_write(engine, lambda conn: sending_policy.sending_facts(conn, account_id))


def send(engine: Engine, account: Account) -> dict[str, Any]:
    answers, _ = accept_messages(engine, account, [{"phone_number": NUMBER, "message": "Hi"}], "")
    return answers[0]


def test_a_key_revoked_on_this_node_stops_at_once(
    engine: Engine, account: tuple[Account, str]
) -> None:
    owner, key = account
    assert sign_in(engine, owner.email, key) == owner
    assert cached_account(engine, owner.email, key) == owner
    assert cached_account(engine, owner.email, key[:-1] + "x") is None  # wrong keys never are
    revoke_key(engine, owner.email, list_keys(engine, owner.email)[0].id)
    assert cached_account(engine, owner.email, key) is None
    with pytest.raises(AuthError):
        sign_in(engine, owner.email, key)


def test_a_key_revoked_elsewhere_stops_within_the_ttl(
    engine: Engine, settings: Settings, account: tuple[Account, str]
) -> None:
    owner, key = account
    sign_in(engine, owner.email, key)
    other_node = make_engine(settings)  # the CLI, or another node on PostgreSQL
    try:
        revoke_key(other_node, owner.email, list_keys(other_node, owner.email)[0].id)
    finally:
        other_node.dispose()
    revoked = time.monotonic()
    while True:
        try:
            sign_in(engine, owner.email, key)
        except AuthError:
            break
        assert time.monotonic() - revoked < access_cache.TTL_SECONDS + 1.0
        time.sleep(0.05)


def test_policy_and_optouts_changed_here_apply_to_the_next_send(
    engine: Engine, account: tuple[Account, str]
) -> None:
    owner, _ = account
    assert send(engine, owner)["sent"] == 1  # fills the cache: no policy, empty list
    assert access_cache.of(engine).facts(owner.id) is not None
    optouts.add(engine, owner, [NUMBER])
    assert send(engine, owner)["errors"] == ["#012"]
    optouts.remove(engine, owner, [NUMBER])
    assert send(engine, owner)["sent"] == 1
    update_policy(engine, owner, default_validity=3600)
    assert facts(engine, owner.id).policy.default_validity == 3600


def test_a_transaction_with_its_own_uncommitted_change_neither_reads_nor_fills_it(
    engine: Engine, account: tuple[Account, str]
) -> None:
    owner, _ = account
    cache = access_cache.of(engine)
    assert facts(engine, owner.id).optouts_empty
    seen: list[bool] = []

    def opt_out_then_read(conn: Connection) -> None:
        suppression_store.add(conn, owner.id, {NUMBER: ""}, "manual", datetime(2026, 1, 1))
        seen.append(sending_policy.sending_facts(conn, owner.id).optouts_empty)
        assert cache.facts(owner.id) is None
        raise LookupError("roll back")

    with pytest.raises(LookupError):
        run_write(engine, opt_out_then_read)
    assert seen == [False]
    assert facts(engine, owner.id).optouts_empty


def test_an_entry_read_before_a_change_is_not_kept_after_it() -> None:
    cache = access_cache.AccessCache()
    owner = Account(1, "a@example.com", "UTC", "FR")
    generation = cache.generation()
    cache.forget()  # a change committed while the reader read
    cache.put_account("a@example.com", "hash", owner, generation)
    assert cache.account("a@example.com", "hash") is None
    cache.put_account("a@example.com", "hash", owner, cache.generation())
    assert cache.account("a@example.com", "hash") == owner


def test_entries_expire_and_the_oldest_go_first() -> None:
    now = [0.0]
    cache = access_cache.AccessCache(clock=lambda: now[0])
    for n in range(access_cache.MAX_ENTRIES + 1):
        cache.put_account(f"{n}@example.com", "h", Account(n, "", "UTC", "FR"), 0)
    assert cache.account("0@example.com", "h") is None
    assert cache.account("1@example.com", "h") is not None
    now[0] += access_cache.TTL_SECONDS
    assert cache.account("1@example.com", "h") is None


def draft(id_sms_api: str) -> Draft:
    return Draft(
        id_sms_api=id_sms_api,
        client_id=False,
        request_hash="",
        phone_number=NUMBER,
        text="Hi",
        message="Hi http://x/abc",
        url="https://example.com/a",
        short_code="abc" + id_sms_api[-3:],
        priority=2,
        encoding="GSM-7",
        segments=1,
        send_at=datetime(2026, 12, 1, 8, 0, 0),  # scheduled, microseconds 0
        valid_until=datetime(2026, 12, 2, 8, 0, 0, 123456),
        sim=2,
        windowed=True,
    )


def test_inserted_messages_are_stored_as_sqlalchemy_stores_them(
    engine: Engine, account: tuple[Account, str]
) -> None:
    owner, _ = account
    now = datetime(2026, 11, 26, 15, 0, 0, 5)
    woken: list[bool] = []
    undo = watch_commits(
        engine, "test_access", message_store.INSERTS_MESSAGES, lambda: woken.append(True)
    )
    try:
        run_write(
            engine,
            lambda conn: message_store.insert_new(
                conn, owner.id, [draft("fast000000000001")], now, 7
            ),
        )
    finally:
        undo()
    assert woken == [True]  # the dispatcher hears of it as before
    same = ("id_sms_api", "request_hash", "phone_number", "message", "url", "short_code")
    same += ("priority", "encoding", "segments", "valid_until", "sim", "windowed")
    reference = {c: getattr(draft("slow000000000002"), c) for c in same} | {
        "account_id": owner.id,
        "state": "scheduled",
        "send_at": datetime(2026, 12, 1, 8, 0, 0),
        "created_at": now,
        "attempts": 0,
        "campaign_id": 7,
    }
    run_write(engine, lambda conn: conn.execute(insert(messages), [reference]))
    columns = [c.name for c in messages.c if c.name not in {"id", "id_sms_api", "short_code"}]
    with engine.connect() as conn:
        typed = ", ".join(f"{c}" for c in columns)
        if engine.dialect.name == "sqlite":  # the stored text and types, not what SQLAlchemy reads
            typed = ", ".join(f"typeof({c}) || ':' || coalesce({c}, 'NULL')" for c in columns)
        rows = conn.execute(text(f"SELECT {typed} FROM messages ORDER BY id")).all()
        stored = conn.execute(select(messages).order_by(messages.c.id)).all()
    assert len(rows) == 2 and rows[0] == rows[1]
    assert stored[0].send_at == datetime(2026, 12, 1, 8, 0, 0) and stored[0].created_at == now
