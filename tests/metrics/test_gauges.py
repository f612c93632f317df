"""The gauges /metrics reads from the store: right counts, capped, and plans
that walk an index on `state` (never the table), on both stores."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, event, update

from simgate.domain.dates import utcnow
from simgate.services import outbox
from simgate.services.accounts import create_account
from simgate.services.messages import accept_messages
from simgate.store import gauges
from simgate.store.tables import messages, webhooks
from tests.integration.conftest import explain


def test_counts_by_state_stop_at_the_cap(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    account, _ = create_account(engine, "gauges@example.com", "Europe/Paris", "FR")
    items = [{"phone_number": f"+3361200000{i}", "message": f"m{i}"} for i in range(6)]
    accept_messages(engine, account, items, "http://127.0.0.1:1")
    with engine.begin() as conn:
        conn.execute(update(messages).where(messages.c.id % 3 == 0).values(state="dispatched"))
        for i in range(4):
            outbox.enqueue(conn, account.id, "status", {"n": i}, url="http://x/", now=utcnow())
        conn.execute(update(webhooks).where(webhooks.c.id % 2 == 0).values(state="dead"))
    counts = gauges.read(engine)
    assert counts.messages == {"scheduled": 0, "queued": 4, "dispatched": 2}
    assert counts.webhooks == {"pending": 2, "dead": 2}
    monkeypatch.setattr(gauges, "COUNT_CAP", 3)
    assert gauges.read(engine).messages == {"scheduled": 0, "queued": 3, "dispatched": 2}


def test_each_count_reads_an_index_on_state(engine: Engine) -> None:
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
        seen.append((sql, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        gauges.read(engine)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    [(sql, params)] = [(q, p) for q, p in seen if "count(*)" in q]
    plan = explain(engine, sql, params)
    if engine.dialect.name == "sqlite":
        assert "SCAN messages" not in plan and "SCAN webhooks" not in plan, plan
        assert plan.count("USING COVERING INDEX") == 5, plan
    else:
        assert "Seq Scan" not in plan, plan
        assert plan.count("Index Only Scan") == 5, plan
    assert plan.count("Limit") == 5 or engine.dialect.name == "sqlite", plan
