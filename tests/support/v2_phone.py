"""A phone of an account, spoken by hand over the device socket: it receives
SMS, reports calls and answers the messages the server hands it, exactly as a
real agent would (what the v2 history, calls and stats tests read back)."""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from websockets.sync.client import ClientConnection

from simgate.services.devices import add_device
from tests.support.servers import LiveServer
from tests.support.sockets import Sockets


def iso(moment: datetime) -> str:
    """A naive-UTC or aware time as the device protocol writes it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


class Phone:
    def __init__(self, server: LiveServer, sockets: Sockets, login: str) -> None:
        token = add_device(server.engine, login, f"phone-{secrets.token_hex(3)}")[1]
        self.ws: ClientConnection = sockets.join(token)
        self.commands: list[dict[str, Any]] = []  # send_sms frames not taken yet
        self.dials: list[dict[str, Any]] = []  # dial frames not answered yet

    def _next(self, kind: str, timeout: float = 15) -> dict[str, Any]:
        """The next frame of `kind`; send_sms frames met on the way are kept."""
        deadline = time.monotonic() + timeout
        while True:
            frame: dict[str, Any] = json.loads(self.ws.recv(max(0.0, deadline - time.monotonic())))
            if frame["type"] == "ping":
                self.ws.send(json.dumps({"type": "pong", "ts": frame["ts"]}))
            elif frame["type"] == kind:
                return frame
            elif frame["type"] == "send_sms":
                self.commands.append(frame)
            elif frame["type"] == "dial":
                self.dials.append(frame)
            else:
                raise AssertionError(f"expected {kind}, got {frame}")

    def _report(self, frame: dict[str, Any]) -> None:
        ref = frame["ref"] = frame.get("ref") or secrets.token_hex(6)
        self.ws.send(json.dumps(frame))
        assert self._next("ack")["ref"] == ref

    def receive(self, sender: str, text: str, at: datetime | None = None) -> None:
        frame: dict[str, Any] = {"type": "sms_received", "from": sender, "text": text}
        if at is not None:
            frame["at"] = iso(at)
        self._report(frame)

    def call(
        self, event: str, number: str, duration: str = "0", at: datetime | None = None
    ) -> None:
        frame: dict[str, Any] = {
            "type": "call",
            "event": event,
            "number": number,
            "duration": duration,
        }
        if at is not None:
            frame["at"] = iso(at)
        self._report(frame)

    def take(self) -> dict[str, Any]:
        """The next message handed over (its send_sms frame), acknowledged."""
        command = self.commands.pop(0) if self.commands else self._next("send_sms")
        self.ws.send(json.dumps({"type": "ack", "id": command["id"]}))
        return command

    def report(self, command: dict[str, Any], outcome: str, reason: str = "") -> None:
        """Report a taken message `delivered`, `sent` (no delivery report yet)
        or `failed` (undelivered, with `reason`)."""
        if outcome == "failed":
            self._report(
                {
                    "type": "delivery",
                    "id": command["id"],
                    "status": "undelivered",
                    "reason": reason or "no such subscriber",
                }
            )
            return
        self._report({"type": "result", "id": command["id"], "status": "sent"})
        if outcome == "delivered":
            self._report({"type": "delivery", "id": command["id"], "status": "delivered"})

    def handle(self, outcome: str = "delivered", reason: str = "") -> dict[str, Any]:
        """Take the next message and report it; its send_sms frame."""
        command = self.take()
        self.report(command, outcome, reason)
        return command

    def answer_dial(self, duration: str = "00:00:05") -> dict[str, Any]:
        """Take the next click-to-call command, place the call and report it
        as an outgoing call (what the simulator driver does); its dial frame."""
        command = self.dials.pop(0) if self.dials else self._next("dial")
        self.ws.send(json.dumps({"type": "ack", "id": command["id"]}))
        self.call("outgoing_call", command["to"], duration)
        return command
