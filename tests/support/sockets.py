"""Raw device WebSockets for tests: speak protocol v1 by hand, frame by frame."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from simgate.device import protocol


class Sockets:
    """Opens device sockets to one server; `close()` closes them all."""

    def __init__(self, server_url: str) -> None:
        self.url = server_url.replace("http://", "ws://") + protocol.PATH
        self._stack = ExitStack()

    def open(self, token: str | None = None, path: str = "", **options: Any) -> ClientConnection:
        """A device socket; `options` go to websockets' `connect` (sock=, max_queue=...)."""
        headers = {"Authorization": f"Bearer {token}"} if token is not None else None
        # Unread frames (pings, mostly) must not stop the client from reading,
        # or its close handshake waits out the close timeout.
        options.setdefault("max_queue", None)
        return self._stack.enter_context(
            connect(self.url + path, additional_headers=headers, max_size=None, **options)
        )

    def join(self, token: str, capabilities: list[str] | None = None) -> ClientConnection:
        """Connect, say hello and wait for the welcome."""
        ws = self.open(token)
        hello: dict[str, Any] = {"type": "hello", "protocol": 1}
        if capabilities is not None:
            hello["capabilities"] = capabilities
        ws.send(json.dumps(hello))
        assert json.loads(ws.recv(5))["type"] == "welcome"
        return ws

    def close(self) -> None:
        self._stack.close()


def next_frame(ws: ClientConnection, kind: str, timeout: float = 5) -> dict[str, Any]:
    """The next frame, which must be of `kind` (pings are answered on the way);
    TimeoutError if none comes within `timeout` seconds, pings or not."""
    deadline = time.monotonic() + timeout
    while True:
        frame: dict[str, Any] = json.loads(ws.recv(max(0.0, deadline - time.monotonic())))
        if frame["type"] == "ping":
            ws.send(json.dumps({"type": "pong", "ts": frame["ts"]}))
            continue
        if frame["type"] == kind:
            return frame
        raise AssertionError(f"expected {kind}, got {frame}")


def close_code(ws: ClientConnection) -> tuple[int, str]:
    """Read until the server closes the socket; its close code and reason."""
    with pytest.raises(ConnectionClosed) as info:
        while True:
            frame = json.loads(ws.recv(5))
            if frame["type"] == "ping":
                ws.send(json.dumps({"type": "pong"}))
    assert info.value.rcvd is not None
    return info.value.rcvd.code, info.value.rcvd.reason
