"""Two `simgate serve` nodes on one PostgreSQL, a phone on each."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from simgate.config import Settings
from simgate.store.tables import devices, messages
from tests.devices.conftest import Agent, all_in, numbered, pair, post, states
from tests.support.polling import wait_for
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.e2e


def online(store: Engine, account_id: int) -> list[int]:
    query = select(devices.c.id).where(
        devices.c.account_id == account_id, devices.c.online_node.is_not(None)
    )
    with store.connect() as conn:
        return list(conn.execute(query).scalars())


def test_every_message_is_sent_once_across_nodes(
    settings: Settings, store: Engine, owner: dict[str, Any], agents: list[Agent], tmp_path: Path
) -> None:
    if not settings.database_url:
        pytest.skip("several nodes share a store only on PostgreSQL")
    with ServerProcess(settings) as one, ServerProcess(settings) as two:
        fast = ("--sent-delay", "0.02", "--delivery-delay", "0.02")
        agents.append(Agent(one.url, pair(store, owner, "on one"), tmp_path / "a", *fast).start())
        agents.append(Agent(two.url, pair(store, owner, "on two"), tmp_path / "b", *fast).start())
        # Both phones online before the work arrives, or the first one up
        # (on a loaded machine) may take it all and prove nothing.
        wait_for(lambda: len(online(store, owner["id"])) == 2, timeout=60)
        batch = numbered(200)
        post(one.url, owner, batch[:100])
        post(two.url, owner, batch[100:])
        wait_for(lambda: all_in(store, "received", 200), timeout=60)
    sent = agents[0].sent() + agents[1].sent()
    assert len(sent) == 200 and Counter(sent).most_common(1)[0][1] == 1
    assert agents[0].sent() and agents[1].sent()  # both nodes dispatched


def test_a_message_accepted_on_one_node_wakes_the_other_at_once(
    settings: Settings, store: Engine, owner: dict[str, Any], agents: list[Agent], tmp_path: Path
) -> None:
    """LISTEN/NOTIFY. Node two polls only every 30 s here: nothing but node one's
    NOTIFY can get a message accepted on node one to node two's phone in time."""
    if not settings.database_url:
        pytest.skip("several nodes share a store only on PostgreSQL")
    slow_poll = {"SIMGATE_DISPATCH_POLL_SECONDS": "30", "SIMGATE_DISPATCH_SWEEP_SECONDS": "30"}
    # Both started and ready (/readyz): node two's wake listener is LISTENing.
    with ServerProcess(settings) as one, ServerProcess(settings, env=slow_poll) as two:
        fast = ("--sent-delay", "0.01", "--delivery-delay", "0.01")
        agents.append(Agent(two.url, pair(store, owner, "on two"), tmp_path / "b", *fast).start())
        wait_for(lambda: _online(store))
        for n in range(3):
            post(one.url, owner, numbered(1))
            wait_for(lambda: states(store).get("queued", 0) == 0, timeout=10)
            # Settled: no report of this message is left to wake node two later.
            wait_for(lambda: all_in(store, "received", n + 1), timeout=10)  # noqa: B023
    with store.connect() as conn:
        rows = conn.execute(select(messages.c.created_at, messages.c.dispatched_at)).all()
    delays = sorted((r.dispatched_at - r.created_at).total_seconds() for r in rows)
    assert len(delays) == 3 and delays[-1] < 2.0, delays


def _online(store: Engine) -> bool:
    with store.connect() as conn:
        return (
            conn.execute(select(devices.c.id).where(devices.c.online_node.is_not(None))).first()
            is not None
        )
