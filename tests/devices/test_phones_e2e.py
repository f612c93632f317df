"""A real server process, real agent processes, real WebSockets."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from simgate.config import Settings
from simgate.store.tables import messages
from tests.devices.conftest import Agent, all_in, numbered, pair, post, states
from tests.support.polling import wait_for
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.e2e

FAST = ("--sent-delay", "0.02", "--delivery-delay", "0.02")


def test_messages_are_sent_once_and_delivered(
    settings: Settings, store: Engine, owner: dict[str, Any], agents: list[Agent], tmp_path: Path
) -> None:
    with ServerProcess(settings) as server:
        agent = Agent(server.url, pair(store, owner, "phone"), tmp_path / "phone", *FAST).start()
        agents.append(agent)
        answers = post(server.url, owner, numbered(60))
        wait_for(lambda: all_in(store, "received", 60), timeout=30)
    sent = agent.sent()
    assert len(sent) == 60 and len(set(sent)) == 60
    with store.connect() as conn:
        rows = conn.execute(
            select(messages.c.id_sms_api, messages.c.sent_at, messages.c.delivered_at)
        ).all()
    assert {r.id_sms_api for r in rows} == {a["id_sms_api"] for a in answers}
    assert all(r.sent_at and r.delivered_at for r in rows)


# Priorities, schedules and send rates are checked with the clock moved by
# hand, without processes or waits: tests/integration/test_clock.py.


def test_failed_sends_are_retried_then_failed(
    settings: Settings, store: Engine, owner: dict[str, Any], agents: list[Agent], tmp_path: Path
) -> None:
    with ServerProcess(settings, env={"SIMGATE_MAX_SEND_ATTEMPTS": "2"}) as server:
        agent = Agent(
            server.url, pair(store, owner, "broken"), tmp_path / "broken", "--fail-rate", "1", *FAST
        ).start()
        agents.append(agent)
        post(server.url, owner, numbered(3))
        wait_for(lambda: all_in(store, "failed", 3), timeout=30)
    with store.connect() as conn:
        rows = conn.execute(select(messages.c.attempts, messages.c.fail_reason)).all()
    assert all(r.attempts == 2 and r.fail_reason == "simulated radio failure" for r in rows)
    assert agent.sent() == []


def test_agent_killed_mid_batch_loses_and_repeats_nothing(
    settings: Settings, store: Engine, owner: dict[str, Any], agents: list[Agent], tmp_path: Path
) -> None:
    with ServerProcess(settings, env={"SIMGATE_LEASE_SECONDS": "2"}) as server:
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
    server = ServerProcess(settings, env={"SIMGATE_LEASE_SECONDS": "2"}).start()
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
        server = ServerProcess(
            settings, port=server.port, env={"SIMGATE_LEASE_SECONDS": "2"}
        ).start()
        wait_for(lambda: all_in(store, "received", 80), timeout=60)
    finally:
        server.stop()
    sent = agent.sent()
    assert len(sent) == 80 and Counter(sent).most_common(1)[0][1] == 1
