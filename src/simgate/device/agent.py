"""The reference device agent: holds the WebSocket, drives a phone driver.

It reconnects with back-off, acknowledges commands once they are in its
journal, and keeps every report until the server acknowledges it, re-sending
pending reports after each reconnect (docs/device-protocol.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import secrets
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from simgate.device import protocol
from simgate.device.simulator import Journal, SimulatedPhone

log = logging.getLogger(__name__)


def socket_url(server: str) -> str:
    base = server.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return base + protocol.PATH


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Fatal(Exception):
    """The server refused us for good (bad token, unsupported protocol)."""


class Agent:
    def __init__(self, server: str, token: str, phone: SimulatedPhone, journal: Journal) -> None:
        self.url = socket_url(server)
        self.token = token
        self.phone = phone
        self.journal = journal
        self.ws: ClientConnection | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.connected = asyncio.Event()
        # Work the previous run of this phone accepted but did not finish.
        to_send, to_deliver = journal.unfinished()
        self.resume = [self._deliver(f) for f in to_send]
        self.resume += [self._deliver(f, transmitted=True) for f in to_deliver]

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Stay connected until `stop` is set; raises Fatal if refused for good."""
        stop = stop or asyncio.Event()
        for job in self.resume:
            self._spawn(job)
        self.resume = []
        delay = 0.5
        while not stop.is_set():
            try:
                await self._session(stop)
                delay = 0.5
            except Fatal:
                raise
            except (OSError, ConnectionClosed, InvalidStatus, TimeoutError) as exc:
                log.info("connection lost (%s); retrying in %.1fs", type(exc).__name__, delay)
            self.connected.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, 10.0)

    async def _session(self, stop: asyncio.Event) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with connect(self.url, additional_headers=headers, max_queue=None) as ws:
            self.ws = ws
            await ws.send(
                protocol.encode(
                    {
                        "type": "hello",
                        "protocol": protocol.VERSION,
                        "capabilities": ["sms", "call"],
                        "agent": "simgate-simulator",
                    }
                )
            )
            stopper = asyncio.create_task(stop.wait())
            try:
                first = True
                while True:
                    receive = asyncio.create_task(ws.recv())
                    done, _ = await asyncio.wait(
                        {receive, stopper}, return_when=asyncio.FIRST_COMPLETED
                    )
                    if stopper in done:
                        receive.cancel()
                        await ws.close()
                        return
                    try:
                        raw = receive.result()
                    except ConnectionClosed as exc:
                        if exc.rcvd and exc.rcvd.code in (
                            protocol.CLOSE_BAD_TOKEN,
                            protocol.CLOSE_BAD_VERSION,
                        ):
                            raise Fatal(exc.rcvd.reason) from None
                        raise
                    frame = json.loads(raw)
                    if first and frame.get("type") == "welcome":
                        first = False
                        self.connected.set()
                        for report in list(self.journal.pending.values()):
                            await self._send(report)
                        continue
                    await self._handle(frame)
            finally:
                stopper.cancel()
                self.ws = None

    async def _send(self, frame: dict[str, Any]) -> None:
        if self.ws is not None:
            with contextlib.suppress(ConnectionClosed):
                await self.ws.send(protocol.encode(frame))

    async def _report(self, frame: dict[str, Any]) -> None:
        self.journal.report(frame)
        await self._send(frame)

    async def _handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "ping":
            await self._send({"type": "pong", "ts": frame.get("ts")})
        elif kind == "ack":
            self.journal.done(frame.get("ref", ""))
        elif kind == "error":
            log.warning("server error %s: %s", frame.get("code"), frame.get("reason"))
            if frame.get("ref"):
                self.journal.done(frame["ref"])  # the server will never take it
        elif kind == "send_sms":
            fresh = self.journal.accept(frame)
            await self._send({"type": "ack", "id": frame["id"]})
            if fresh:
                self._spawn(self._deliver(frame))
        elif kind == "dial":
            await self._send({"type": "ack", "id": frame["id"]})
            self._spawn(self._report(self._call_frame("outgoing_call", frame["to"], "00:00:05")))

    def _call_frame(self, event: str, number: str, duration: str) -> dict[str, Any]:
        return {
            "type": "call",
            "ref": "c-" + secrets.token_hex(8),
            "event": event,
            "number": number,
            "duration": duration,
            "at": now_iso(),
        }

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _deliver(self, frame: dict[str, Any], transmitted: bool = False) -> None:
        """Send one SMS and report it; `transmitted` resumes after the send."""
        message_id = frame["id"]
        if not transmitted:
            await asyncio.sleep(self.phone.sent_delay)
            failure = self.phone.transmit(message_id, frame["to"], frame["text"])
            result: dict[str, Any] = {
                "type": "result",
                "ref": "r-" + message_id,
                "id": message_id,
                "status": "failed" if failure else "sent",
                "at": now_iso(),
            }
            if failure:
                result["reason"] = failure
            await self._report(result)
            if failure:
                return
        await asyncio.sleep(self.phone.delivery_delay)
        await self._report(
            {
                "type": "delivery",
                "ref": "d-" + message_id,
                "id": message_id,
                "status": "delivered",
                "at": now_iso(),
            }
        )


async def report_once(server: str, token: str, frame: dict[str, Any], timeout: float = 15) -> None:
    """Connect as the device, send one report, wait for its ack.

    Says hello without the "sms" capability so that no SMS is handed to this
    short-lived connection. Raises RuntimeError with the server's reason.
    """
    headers = {"Authorization": f"Bearer {token}"}
    async with asyncio.timeout(timeout):
        try:
            async with connect(socket_url(server), additional_headers=headers) as ws:
                await ws.send(
                    protocol.encode(
                        {"type": "hello", "protocol": protocol.VERSION, "capabilities": []}
                    )
                )
                sent = False
                async for raw in ws:
                    reply = json.loads(raw)
                    if reply.get("type") == "welcome" and not sent:
                        await ws.send(protocol.encode(frame))
                        sent = True
                    elif reply.get("type") == "ping":
                        await ws.send(protocol.encode({"type": "pong", "ts": reply.get("ts")}))
                    elif reply.get("type") == "ack" and reply.get("ref") == frame["ref"]:
                        return
                    elif reply.get("type") == "error":
                        raise RuntimeError(f"{reply.get('code')}: {reply.get('reason')}")
        except ConnectionClosed as exc:
            reason = exc.rcvd.reason if exc.rcvd else "connection closed"
            raise RuntimeError(f"the server closed the connection: {reason}") from None
    raise RuntimeError("the server closed the connection before acknowledging the report")
