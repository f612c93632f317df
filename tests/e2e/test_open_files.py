"""Idle connections cannot exhaust the server's open files.

`simgate serve` starts with a soft limit of 256 open files (as on a stock
macOS, or a service manager's default) and a higher hard limit. It raises the
soft limit to the hard one, so 300 idle connections (held open: the head
timeout is long here) still leave room for /healthz.
"""

from __future__ import annotations

import resource
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from simgate.config import Settings
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.e2e

SOFT = 256
IDLE = 300
_, HARD = resource.getrlimit(resource.RLIMIT_NOFILE)


def low_soft_limit() -> None:
    # Runs in the server process between fork and exec: only its limit changes.
    resource.setrlimit(resource.RLIMIT_NOFILE, (SOFT, HARD))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    if HARD != resource.RLIM_INFINITY and HARD < 4 * IDLE:
        pytest.skip(f"the hard open-file limit ({HARD}) leaves no room to raise to")
    settings = Settings(data_dir=tmp_path_factory.mktemp("open-files") / "data")
    env = {"SIMGATE_HEADER_TIMEOUT_SECONDS": "60"}
    with ServerProcess(settings, env=env, preexec_fn=low_soft_limit) as server:
        yield server


def test_300_idle_connections_leave_healthz_answering(served: ServerProcess) -> None:
    idle = [socket.create_connection(("127.0.0.1", served.port), timeout=5) for _ in range(IDLE)]
    try:
        assert httpx.get(served.url + "/healthz", timeout=10).status_code == 200
        # They were all still open: the limit, not a close, made room.
        for sock in idle:
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.recv(1)
    finally:
        for sock in idle:
            sock.close()


def test_the_server_logs_the_limit_it_got(served: ServerProcess) -> None:
    shown = "unlimited" if HARD == resource.RLIM_INFINITY else str(HARD)
    assert f"open files: limit raised from {SOFT} to {shown}" in Path(served.log_path).read_text()
