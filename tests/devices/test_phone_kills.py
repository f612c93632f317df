"""Processes killed mid-batch: a real server process, real agent processes.

Each test starts its own server, with two-second leases so that what the
killed process held comes back within the test's time.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from simgate.config import Settings
from tests.devices.conftest import QUICK_SWEEPS, Agent, all_in, numbered, pair, post, states
from tests.support.polling import wait_for
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.e2e

SHORT_LEASES = {**QUICK_SWEEPS, "SIMGATE_LEASE_SECONDS": "2"}


def test_agent_killed_mid_batch_loses_and_repeats_nothing(
    settings: Settings, store: Engine, owner: dict[str, Any], agents: list[Agent], tmp_path: Path
) -> None:
    with ServerProcess(settings, env=SHORT_LEASES) as server:
        token = pair(store, owner, "phone", rate=1200)
        agent = Agent(
            server.url, token, tmp_path / "phone", "--sent-delay", "0.05", "--delivery-delay", "0.3"
        ).start()
        agents.append(agent)
        post(server.url, owner, numbered(80))
        wait_for(lambda: len(agent.sent()) >= 15)
        agent.kill()
        mid = states(store)
        assert mid.get("received", 0) < 80
        again = Agent(
            server.url, token, tmp_path / "phone", "--sent-delay", "0.05", "--delivery-delay", "0.3"
        ).start()
        agents.append(again)
        wait_for(lambda: all_in(store, "received", 80), timeout=60)
    sent = again.sent()  # same folder: the phone's whole history
    assert len(sent) == 80 and Counter(sent).most_common(1)[0][1] == 1


def test_server_killed_mid_batch_loses_and_repeats_nothing(
    settings: Settings, store: Engine, owner: dict[str, Any], agents: list[Agent], tmp_path: Path
) -> None:
    server = ServerProcess(settings, env=SHORT_LEASES).start()
    try:
        agent = Agent(
            server.url,
            pair(store, owner, "phone", rate=1200),
            tmp_path / "phone",
            "--sent-delay",
            "0.05",
            "--delivery-delay",
            "0.3",
        ).start()
        agents.append(agent)
        post(server.url, owner, numbered(80))
        wait_for(lambda: len(agent.sent()) >= 15)
        server.kill()  # SIGKILL
        assert states(store).get("received", 0) < 80
        server = ServerProcess(settings, port=server.port, env=SHORT_LEASES).start()
        wait_for(lambda: all_in(store, "received", 80), timeout=60)
    finally:
        server.stop()
    sent = agent.sent()
    assert len(sent) == 80 and Counter(sent).most_common(1)[0][1] == 1
