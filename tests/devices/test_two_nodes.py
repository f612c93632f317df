"""Two `simgate serve` nodes on one PostgreSQL, a phone on each."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from simgate.config import Settings
from tests.devices.conftest import Agent, all_in, numbered, pair, post
from tests.support.polling import wait_for
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.e2e


def test_every_message_is_sent_once_across_nodes(
    settings: Settings, store: Engine, owner: dict[str, Any], agents: list[Agent], tmp_path: Path
) -> None:
    if not settings.database_url:
        pytest.skip("several nodes share a store only on PostgreSQL")
    with ServerProcess(settings) as one, ServerProcess(settings) as two:
        fast = ("--sent-delay", "0.02", "--delivery-delay", "0.02")
        agents.append(Agent(one.url, pair(store, owner, "on one"), tmp_path / "a", *fast).start())
        agents.append(Agent(two.url, pair(store, owner, "on two"), tmp_path / "b", *fast).start())
        batch = numbered(200)
        post(one.url, owner, batch[:100])
        post(two.url, owner, batch[100:])
        wait_for(lambda: all_in(store, "received", 200), timeout=60)
    sent = agents[0].sent() + agents[1].sent()
    assert len(sent) == 200 and Counter(sent).most_common(1)[0][1] == 1
    assert agents[0].sent() and agents[1].sent()  # both nodes dispatched
