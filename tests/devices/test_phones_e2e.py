"""A real server process, real agent processes, real WebSockets.

The tests share one `simgate serve` per store (each with its own account and
phones), since starting a server process costs more than most of them; the
tests that kill a process are in test_phone_kills.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from simgate.config import Settings
from simgate.store.tables import devices, messages
from tests.devices.conftest import QUICK_SWEEPS, Agent, all_in, numbered, pair, post
from tests.support.polling import wait_for
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.e2e

FAST = ("--sent-delay", "0.02", "--delivery-delay", "0.02")


@pytest.fixture(scope="module")
def served(shared_settings: Settings, shared_store: Engine) -> Iterator[ServerProcess]:
    """One server process per store for the tests that kill nothing."""
    env = {**QUICK_SWEEPS, "SIMGATE_MAX_SEND_ATTEMPTS": "2"}
    with ServerProcess(shared_settings, env=env) as server:
        yield server


def _online(store: Engine, account_id: int) -> int:
    query = select(devices.c.id).where(
        devices.c.account_id == account_id, devices.c.online_node.is_not(None)
    )
    with store.connect() as conn:
        return len(conn.execute(query).all())


def test_messages_are_sent_once_and_delivered(
    served: ServerProcess,
    shared_store: Engine,
    customer: dict[str, Any],
    agents: list[Agent],
    tmp_path: Path,
) -> None:
    store, mine = shared_store, customer["id"]
    agent = Agent(served.url, pair(store, customer, "phone"), tmp_path / "phone", *FAST).start()
    agents.append(agent)
    answers = post(served.url, customer, numbered(60))
    wait_for(lambda: all_in(store, "received", 60, mine), timeout=30)
    sent = agent.sent()
    assert len(sent) == 60 and len(set(sent)) == 60
    with store.connect() as conn:
        rows = conn.execute(
            select(messages.c.id_sms_api, messages.c.sent_at, messages.c.delivered_at).where(
                messages.c.account_id == mine
            )
        ).all()
    assert {r.id_sms_api for r in rows} == {a["id_sms_api"] for a in answers}
    assert all(r.sent_at and r.delivered_at for r in rows)


def test_priority_first_then_schedule(
    served: ServerProcess,
    shared_store: Engine,
    customer: dict[str, Any],
    agents: list[Agent],
    tmp_path: Path,
) -> None:
    store, mine = shared_store, customer["id"]
    # 60 per minute: one SMS a second (two at most at once), so the hand-over
    # order is observable. The phone is online first, so the times below run
    # from the post, whatever the agent's start-up costs.
    agent = Agent(served.url, pair(store, customer, "slow", rate=60), tmp_path / "slow", *FAST)
    agents.append(agent.start())
    wait_for(lambda: _online(store, mine) == 1)
    # Five due in the worst case by 4 s; the scheduled one, due at 5 s, then
    # finds the phone's rate free, so its delay measures the sweep alone.
    at = (datetime.now().astimezone() + timedelta(seconds=5)).isoformat()
    answers = post(
        served.url,
        customer,
        [
            *numbered(3, priorite=1),
            {"phone_number": "+33699000001", "message": "urgent", "priority": 5},
            {"phone_number": "+33699000002", "message": "urgent too", "priorite": 9},
            {
                "phone_number": "+33699000003",
                "message": "later",
                "date_to_send": at,
                "priorite": 99,
            },
        ],
    )  # one request: all are stored in one transaction, before the dispatcher looks
    low, high, later = answers[:3], answers[3:5], answers[5]
    with store.connect() as conn:
        state = conn.execute(
            select(messages.c.state).where(messages.c.id_sms_api == later["id_sms_api"])
        ).scalar()
    assert state == "scheduled"
    wait_for(lambda: all_in(store, "received", 6, mine), timeout=30)
    with store.connect() as conn:
        rows = {
            r.id_sms_api: r
            for r in conn.execute(select(messages).where(messages.c.account_id == mine))
        }
    # One hand-over may carry two messages (the phone's burst): within it the
    # claim took the higher priority first, then the older message.
    order = sorted(rows.values(), key=lambda r: (r.dispatched_at, -r.priority, r.id))
    ids = [r.id_sms_api for r in order]
    assert ids[:2] == [high[1]["id_sms_api"], high[0]["id_sms_api"]]
    assert ids.index(later["id_sms_api"]) >= 2
    assert [i for i in ids if i in {a["id_sms_api"] for a in low}] == [a["id_sms_api"] for a in low]
    scheduled = rows[later["id_sms_api"]]
    assert scheduled.dispatched_at >= scheduled.send_at
    assert (scheduled.dispatched_at - scheduled.send_at).total_seconds() < 1.5


def test_two_phones_share_the_load_within_their_rates(
    served: ServerProcess,
    shared_store: Engine,
    customer: dict[str, Any],
    agents: list[Agent],
    tmp_path: Path,
) -> None:
    store, mine = shared_store, customer["id"]
    for name in ("a", "b"):
        agents.append(
            Agent(served.url, pair(store, customer, name, rate=120), tmp_path / name, *FAST).start()
        )
    wait_for(lambda: _online(store, mine) == 2)
    post(served.url, customer, numbered(16))
    wait_for(lambda: all_in(store, "received", 16, mine), timeout=30)
    a, b = agents[0].sent(), agents[1].sent()
    assert len(a) + len(b) == 16 and not set(a) & set(b)
    assert min(len(a), len(b)) >= 5  # both took a real share
    with store.connect() as conn:
        rows = conn.execute(
            select(messages.c.device_id, messages.c.dispatched_at).where(
                messages.c.account_id == mine
            )
        ).all()
    for device_id in {r.device_id for r in rows}:
        times = sorted(r.dispatched_at for r in rows if r.device_id == device_id)
        # 120/min is 2 per second, with a burst of 4: any 2-second window holds at most 8.
        for i, start in enumerate(times):
            window = [t for t in times[i:] if (t - start).total_seconds() < 2]
            assert len(window) <= 8


def test_failed_sends_are_retried_then_failed(
    served: ServerProcess,
    shared_store: Engine,
    customer: dict[str, Any],
    agents: list[Agent],
    tmp_path: Path,
) -> None:
    store, mine = shared_store, customer["id"]  # the shared server tries twice
    agent = Agent(
        served.url,
        pair(store, customer, "broken"),
        tmp_path / "broken",
        "--fail-rate",
        "1",
        *FAST,
    ).start()
    agents.append(agent)
    post(served.url, customer, numbered(3))
    wait_for(lambda: all_in(store, "failed", 3, mine), timeout=30)
    with store.connect() as conn:
        rows = conn.execute(
            select(messages.c.attempts, messages.c.fail_reason).where(messages.c.account_id == mine)
        ).all()
    assert all(r.attempts == 2 and r.fail_reason == "simulated radio failure" for r in rows)
    assert agent.sent() == []
