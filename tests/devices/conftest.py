"""Helpers for phone tests: agent processes, message posting, polling."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

from simgate.config import Settings
from simgate.services.accounts import create_account
from simgate.services.devices import add_device
from simgate.store.db import make_engine
from simgate.store.tables import messages
from tests.support import http_client
from tests.support.agents import Agent
from tests.support.servers import LiveServer, simgate
from tests.support.sockets import Sockets

# For server processes: due scheduled messages and expired leases are swept
# within a quarter second (default: one), so tests time the sweep's work, not
# its period.
QUICK_SWEEPS = {"SIMGATE_DISPATCH_POLL_SECONDS": "0.1", "SIMGATE_DISPATCH_SWEEP_SECONDS": "0.25"}


@pytest.fixture
def agents() -> Iterator[list[Agent]]:
    started: list[Agent] = []
    yield started
    for agent in started:
        agent.kill()


@pytest.fixture
def store(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def owner(store: Engine) -> dict[str, Any]:
    account, key = create_account(store, "owner@example.com", "Europe/Paris", "FR")
    return {"login": account.email, "accessKey": key, "id": account.id}


@pytest.fixture
def sockets(live: LiveServer) -> Iterator[Sockets]:
    """Device sockets to the test module's `live` server, closed after the test."""
    opened = Sockets(live.url)
    yield opened
    opened.close()


def report(
    settings: Settings, server_url: str, token: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """`simgate device report ARGS` as a device with `token` runs it."""
    return simgate(
        "device", "report", "--server", server_url, "--token", token, *args, settings=settings
    )


@pytest.fixture(scope="module")
def shared_store(shared_settings: Settings) -> Iterator[Engine]:
    """The module's shared store (tests/conftest.py's shared_settings)."""
    engine = make_engine(shared_settings)
    yield engine
    engine.dispose()


@pytest.fixture
def customer(shared_store: Engine) -> dict[str, Any]:
    """A fresh account on the module's shared store."""
    account, key = create_account(
        shared_store, f"{secrets.token_hex(5)}@example.com", "Europe/Paris", "FR"
    )
    return {"login": account.email, "accessKey": key, "id": account.id}


def pair(store: Engine, owner: dict[str, Any], name: str, rate: int = 6000) -> str:
    return add_device(store, owner["login"], name, rate)[1]


def post(url: str, owner: dict[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    header = {"login": owner["login"], "accessKey": owner["accessKey"]}
    response = http_client.post(
        url + "/api/v1/sendsms", json={"header": header, "messages": items}, timeout=30
    )
    response.raise_for_status()
    answers: list[dict[str, Any]] = response.json()
    assert all(a["sent"] == 1 for a in answers), answers
    return answers


def numbered(count: int, **extra: Any) -> list[dict[str, Any]]:
    return [
        {"phone_number": f"+336{12000000 + i:08d}", "message": f"message {i}", **extra}
        for i in range(count)
    ]


def states(store: Engine, account_id: int | None = None) -> dict[str, int]:
    """How many messages are in each state: the whole store's, or one account's
    (on a store shared by the tests of a module)."""
    query = select(messages.c.state)
    if account_id is not None:
        query = query.where(messages.c.account_id == account_id)
    counts: dict[str, int] = {}
    with store.connect() as conn:
        for (state,) in conn.execute(query):
            counts[state] = counts.get(state, 0) + 1
    return counts


def all_in(store: Engine, state: str, count: int, account_id: int | None = None) -> bool:
    return states(store, account_id).get(state, 0) == count
