"""A real server process, real agent processes, real WebSockets.

The tests share one `simgate serve` per store (each with its own account and
phones), since starting a server process costs more than most of them; the
tests that kill a process are in test_phone_kills.py.
"""

from __future__ import annotations

from collections.abc import Iterator
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


# Priorities, schedules and send rates are checked with the clock moved by
# hand, without processes or waits: tests/integration/test_clock.py.


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
