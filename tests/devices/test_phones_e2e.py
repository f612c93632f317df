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


def test_priority_first_then_schedule(
    settings: Settings, store: Engine, owner: dict[str, Any], agents: list[Agent], tmp_path: Path
) -> None:
    with ServerProcess(settings) as server:
        # Accept everything before any phone is online, then watch the order.
        low = post(server.url, owner, numbered(3, priorite=1))
        high = post(
            server.url,
            owner,
            [
                {"phone_number": "+33699000001", "message": "urgent", "priority": 5},
                {"phone_number": "+33699000002", "message": "urgent too", "priorite": 9},
            ],
        )
        from datetime import datetime, timedelta

        at = (datetime.now().astimezone() + timedelta(seconds=3)).isoformat()
        later = post(
            server.url,
            owner,
            [
                {
                    "phone_number": "+33699000003",
                    "message": "later",
                    "date_to_send": at,
                    "priorite": 99,
                }
            ],
        )
        with store.connect() as conn:
            assert (
                conn.execute(
                    select(messages.c.state).where(messages.c.id_sms_api == later[0]["id_sms_api"])
                ).scalar()
                == "scheduled"
            )
        # 60 per minute: one SMS a second, so the hand-over order is observable.
        agent = Agent(
            server.url, pair(store, owner, "slow", rate=60), tmp_path / "slow", *FAST
        ).start()
        agents.append(agent)
        wait_for(lambda: all_in(store, "received", 6), timeout=30)
    with store.connect() as conn:
        rows = {r.id_sms_api: r for r in conn.execute(select(messages))}
    order = sorted(rows.values(), key=lambda r: r.dispatched_at)
    ids = [r.id_sms_api for r in order]
    assert ids[:2] == [high[1]["id_sms_api"], high[0]["id_sms_api"]]
    assert ids.index(later[0]["id_sms_api"]) >= 2
    assert [i for i in ids if i in {a["id_sms_api"] for a in low}] == [a["id_sms_api"] for a in low]
    scheduled = rows[later[0]["id_sms_api"]]
    assert scheduled.dispatched_at >= scheduled.send_at
    assert (scheduled.dispatched_at - scheduled.send_at).total_seconds() < 1.5


def test_two_phones_share_the_load_within_their_rates(
    settings: Settings, store: Engine, owner: dict[str, Any], agents: list[Agent], tmp_path: Path
) -> None:
    with ServerProcess(settings) as server:
        for name in ("a", "b"):
            agents.append(
                Agent(
                    server.url, pair(store, owner, name, rate=120), tmp_path / name, *FAST
                ).start()
            )
        wait_for(lambda: _online(store) == 2)
        post(server.url, owner, numbered(16))
        wait_for(lambda: all_in(store, "received", 16), timeout=30)
    a, b = agents[0].sent(), agents[1].sent()
    assert len(a) + len(b) == 16 and not set(a) & set(b)
    assert min(len(a), len(b)) >= 5  # both took a real share
    with store.connect() as conn:
        rows = conn.execute(select(messages.c.device_id, messages.c.dispatched_at)).all()
    for device_id in {r.device_id for r in rows}:
        times = sorted(r.dispatched_at for r in rows if r.device_id == device_id)
        # 120/min is 2 per second, with a burst of 4: any 2-second window holds at most 8.
        for i, start in enumerate(times):
            window = [t for t in times[i:] if (t - start).total_seconds() < 2]
            assert len(window) <= 8


def _online(store: Engine) -> int:
    from simgate.store.tables import devices

    with store.connect() as conn:
        return len(
            conn.execute(select(devices.c.id).where(devices.c.online_node.is_not(None))).all()
        )


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
