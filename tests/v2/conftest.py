"""The v2 modules' fixtures: one shared server per module and store, a fresh
account per test, and a phone speaking the device protocol where a test needs
reports (received SMS, calls, delivery)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.servers import LiveServer
from tests.support.sockets import Sockets
from tests.support.v2_phone import Phone


@pytest.fixture
def server(shared_server: LiveServer) -> LiveServer:
    return shared_server


@pytest.fixture
def account(shared_account: dict[str, Any]) -> dict[str, Any]:
    return shared_account


@pytest.fixture
def sockets(server: LiveServer) -> Iterator[Sockets]:
    opened = Sockets(server.url)
    yield opened
    opened.close()


@pytest.fixture
def phone(server: LiveServer, sockets: Sockets, account: dict[str, Any]) -> Phone:
    return Phone(server, sockets, account["login"])
