"""Idle and slow connections are closed; kept-alive clients and WebSockets are not.

One `simgate serve` process with short deadlines (a 1 s head timeout, a 2 s
body timeout, set through the environment). Clients are raw sockets, so that
what the server does with a silent or trickling peer is seen as is: the close
must come at the configured deadline, not before, and not much after (the
slack allows for a busy 2-core machine).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from simgate.config import Settings
from simgate.device import protocol
from simgate.services.accounts import create_account
from simgate.services.devices import add_device
from simgate.serving import MAX_HEAD_BYTES
from simgate.store.db import make_engine
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.e2e

HEAD_TIMEOUT = 1.0
BODY_TIMEOUT = 2.0
SLACK = 2.5
EVERY = 0.25  # a trickle sends a piece this often: well inside any per-read timeout


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("slow-clients")
    settings = Settings(data_dir=folder / "data")
    env = {
        "SIMGATE_HEADER_TIMEOUT_SECONDS": str(HEAD_TIMEOUT),
        "SIMGATE_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
    }
    with ServerProcess(settings, env=env) as server:
        yield server


def open_socket(server: ServerProcess) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=5)


def seconds_until_closed(
    sock: socket.socket, since: float, limit: float, trickle: Iterator[bytes] | None = None
) -> float:
    """Seconds from `since` until the server closes `sock`, sending `trickle`
    a piece every EVERY seconds meanwhile; fails if it is still open at `limit`."""
    while time.monotonic() - since < limit:
        sock.settimeout(EVERY)
        try:
            data = sock.recv(65536)
        except TimeoutError:
            if trickle is not None:
                try:
                    sock.sendall(next(trickle))
                except OSError:  # closed while we wrote
                    return time.monotonic() - since
            continue
        except ConnectionResetError:
            return time.monotonic() - since
        if not data:
            return time.monotonic() - since
        pytest.fail(f"the server answered a request that never arrived in full: {data[:80]!r}")
    pytest.fail(f"the connection was still open after {limit} s")


def assert_within_deadline(elapsed: float, deadline: float) -> None:
    assert deadline - 0.1 <= elapsed <= deadline + SLACK, (elapsed, deadline)


def header_lines() -> Iterator[bytes]:
    n = 0
    while True:
        n += 1
        yield f"X-Slow-{n}: still coming\r\n".encode()


def test_idle_connections_are_closed_at_the_header_timeout(served: ServerProcess) -> None:
    started = time.monotonic()
    socks = [open_socket(served) for _ in range(50)]
    try:
        for sock in socks:
            assert_within_deadline(seconds_until_closed(sock, started, 10), HEAD_TIMEOUT)
    finally:
        for sock in socks:
            sock.close()


def test_a_header_trickle_is_closed_at_the_header_timeout(served: ServerProcess) -> None:
    with open_socket(served) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        elapsed = seconds_until_closed(sock, started, 10, header_lines())
    assert_within_deadline(elapsed, HEAD_TIMEOUT)


def test_a_body_trickle_is_closed_at_the_body_timeout(served: ServerProcess) -> None:
    with open_socket(served) as sock:
        sock.sendall(
            b"POST /api/v1/sendsms HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"
        )
        started = time.monotonic()
        elapsed = seconds_until_closed(sock, started, 15, iter(lambda: b" ", None))
    assert_within_deadline(elapsed, BODY_TIMEOUT)
    # A client that went away mid-body is no server error. The request's task
    # ends just after the close: let a later request through, then read the log.
    assert httpx.get(served.url + "/healthz", timeout=10).status_code == 200
    time.sleep(0.5)
    log = Path(served.log_path).read_text()
    assert "Traceback" not in log and "Exception in ASGI application" not in log


def request(sock: socket.socket, raw: bytes) -> bytes:
    """Send `raw` and read one response with a Content-Length body."""
    sock.sendall(raw)
    sock.settimeout(10)
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    fields = dict(line.split(b": ", 1) for line in head.lower().split(b"\r\n")[1:])
    while len(body) < int(fields[b"content-length"]):
        body += sock.recv(65536)
    return head


HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def test_a_kept_alive_connection_is_not_cut_between_requests(served: ServerProcess) -> None:
    with open_socket(served) as sock:
        assert request(sock, HEALTHZ).startswith(b"HTTP/1.1 200 ")
        # Longer than both deadlines, shorter than uvicorn's 5 s keep-alive.
        time.sleep(BODY_TIMEOUT + 0.5)
        assert request(sock, HEALTHZ).startswith(b"HTTP/1.1 200 ")
        # A head and a body sent in pieces, each part inside its deadline.
        sock.sendall(b"POST /api/v1/sendsms HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        time.sleep(HEAD_TIMEOUT / 2)
        body = b'{"header": {"login": "x", "accessKey": "y"}, "messages": []}'
        sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
        time.sleep(BODY_TIMEOUT / 2)
        assert request(sock, body[10:]).startswith(b"HTTP/1.1 401 ")


def test_a_large_body_sent_at_full_speed_is_read(served: ServerProcess) -> None:
    body = {"header": {"login": "x", "accessKey": "y"}, "messages": [], "pad": "y" * 5_000_000}
    response = httpx.post(served.url + "/api/v1/sendsms", json=body, timeout=30)
    assert response.status_code == 401 and response.json()["errors"] == ["#102"]


def test_a_websocket_outlives_both_deadlines(served: ServerProcess) -> None:
    engine = make_engine(served.settings)
    try:
        create_account(engine, "ws@example.com")
        _, token = add_device(engine, "ws@example.com", "phone", 60)
    finally:
        engine.dispose()
    url = served.url.replace("http://", "ws://") + protocol.PATH
    with ws_connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        ws.send(protocol.encode({"type": "hello", "protocol": protocol.VERSION}))
        assert '"welcome"' in str(ws.recv(timeout=10))
        time.sleep(BODY_TIMEOUT + HEAD_TIMEOUT + 0.5)
        ws.send("not JSON")  # still open both ways: the server answers with an error frame
        assert '"error"' in str(ws.recv(timeout=10))


def test_a_request_head_over_the_limit_is_refused_with_431(served: ServerProcess) -> None:
    # Exactly one byte too many and then nothing: the server reads all that was
    # sent before it closes, so the answer is not lost to a reset.
    start = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
    with open_socket(served) as sock:
        sock.sendall(start + b"a" * (MAX_HEAD_BYTES + 1 - len(start)))
        sock.settimeout(HEAD_TIMEOUT / 2)  # answered at once, not at the deadline
        assert sock.recv(65536).startswith(b"HTTP/1.1 431 ")
