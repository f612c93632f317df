"""The reference device agent: holds the WebSocket, drives a phone driver.

It reconnects with back-off, acknowledges commands once they are in its
journal, hands them to its `Driver` (device/drivers), turns the driver's
events into reports, and keeps every report until the server acknowledges it,
re-sending pending reports after each reconnect (docs/device-protocol.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import secrets
from collections.abc import AsyncIterator, Coroutine
from datetime import UTC, datetime
from typing import Any, assert_never

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from simgate.device import drivers, fastjson, protocol
from simgate.device.drivers import Driver, DriverEvent
from simgate.device.journal import Journal

log = logging.getLogger(__name__)


def socket_url(server: str) -> str:
    base = server.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return base + protocol.PATH


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(datetime.now(UTC))


class Fatal(Exception):
    """The server refused us for good (bad token, unsupported protocol)."""


class Agent:
    def __init__(self, server: str, token: str, driver: Driver, journal: Journal) -> None:
        self.url = socket_url(server)
        self.token = token
        self.driver = driver
        self.journal = journal
        self.ws: ClientConnection | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.connected = asyncio.Event()
        capabilities = driver.capabilities
        # Asked once: an isinstance against a runtime-checkable protocol walks
        # its members each time, and the server acknowledges every report.
        self._keeps = driver if isinstance(driver, drivers.KeepsUntilStored) else None
        # "call" tells the server it may hand this device dial commands.
        self.capabilities = ["sms", "call"] if capabilities.dial else ["sms"]
        # Work the previous run of this phone accepted but did not finish: the
        # driver is asked again and reports what it knows (it never sends twice).
        self.resume = journal.unfinished(awaiting_delivery=capabilities.delivery_reports)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Stay connected until `stop` is set; raises Fatal if refused for good."""
        stop = stop or asyncio.Event()
        events = asyncio.create_task(self._follow_driver())
        for frame in self.resume:
            self._spawn(self._send_sms(frame))
        self.resume = []
        delay = 0.5
        try:
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
        finally:
            events.cancel()

    async def _session(self, stop: asyncio.Event) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        # No permessage-deflate: frames are JSON of some 150 bytes, which
        # deflate hardly shortens, and compressing and inflating each one cost
        # both ends CPU per SMS (about a tenth of the agent's under an SMPP bind).
        async with connect(
            self.url, additional_headers=headers, max_queue=None, compression=None
        ) as ws:
            self.ws = ws
            await ws.send(
                protocol.encode(
                    {
                        "type": "hello",
                        "protocol": protocol.VERSION,
                        "capabilities": self.capabilities,
                        "agent": f"simgate-{self.driver.name}",
                        # The slots the driver knows of now (slot 1 when it knows no more).
                        "sims": list(range(1, max(1, self.driver.capabilities.sim_slots) + 1)),
                    }
                )
            )
            # Stopping closes the socket, which ends the recv() below: a task
            # per frame raced against the stop cost more than handling the frame.
            stopper = asyncio.create_task(_close_when(stop, ws))
            try:
                first = True
                while True:
                    try:
                        raw = await ws.recv()
                    except ConnectionClosed as exc:
                        if stop.is_set():
                            return
                        if exc.rcvd and exc.rcvd.code in (
                            protocol.CLOSE_BAD_TOKEN,
                            protocol.CLOSE_BAD_VERSION,
                        ):
                            raise Fatal(exc.rcvd.reason) from None
                        raise
                    frame = fastjson.loads(raw)
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
                await self.ws.send(fastjson.dumps_text(frame))

    async def _handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "ping":
            await self._send({"type": "pong", "ts": frame.get("ts")})
        elif kind == "ack":
            self.journal.done(frame.get("ref", ""))
            self._settled(frame.get("ref", ""), stored=True)
        elif kind == "error":
            log.warning("server error %s: %s", frame.get("code"), frame.get("reason"))
            if frame.get("ref"):
                self.journal.done(frame["ref"])  # the server will never take it
                self._settled(frame["ref"], stored=False)
        elif kind == "send_sms":
            # Apart from the frames that follow: commands handed over together
            # share the fsync that must come before their acks.
            self._spawn(self._take(frame))
        elif kind == "dial":
            await self._send({"type": "ack", "id": frame["id"]})
            if self.driver.capabilities.dial:
                self._spawn(self._dial(frame["id"], frame["to"]))
            else:
                log.warning("dial command %s ignored: this driver cannot dial", frame["id"])

    async def _take(self, frame: dict[str, Any]) -> None:
        """Journal a send_sms command, acknowledge it once it is on disk, then send it."""
        fresh = self.journal.accept(frame)
        await self.journal.durable()
        await self._send({"type": "ack", "id": frame["id"]})
        if fresh:
            await self._send_sms(frame)

    def _settled(self, ref: str, stored: bool) -> None:
        if ref and self._keeps is not None:
            try:
                self._keeps.report_settled(ref, stored)
            except Exception:
                log.exception("driver %s: report %s settled", self.driver.name, ref)

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(job)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _send_sms(self, frame: dict[str, Any]) -> None:
        command_id = frame["id"]
        options = protocol.send_options(frame)
        try:
            await self.driver.send_sms(
                command_id,
                frame["to"],
                frame["text"],
                options.sim,
                valid_until=options.valid_until,
            )
        except drivers.NotSent as exc:
            await self._on_event(drivers.Failed(command_id, exc.reason, datetime.now(UTC)))
        except Exception:
            # Perhaps sent: reporting it failed could send it twice. The server
            # fails it after its result timeout instead.
            log.exception("driver %s could not take SMS %s", self.driver.name, command_id)

    async def _dial(self, command_id: str, to: str) -> None:
        try:
            await self.driver.dial(command_id, to)
        except Exception:
            log.exception("driver %s could not dial (command %s)", self.driver.name, command_id)

    async def _follow_driver(self) -> None:
        driver = self.driver
        groups = (
            driver.event_groups()
            if isinstance(driver, drivers.GroupsEvents)
            else _one_by_one(driver.events())
        )
        async for events in groups:
            try:
                await self._on_events(events)
            except Exception:  # the journal's disk failing: the reports wait in it
                log.exception("could not report %d event(s)", len(events))

    async def _on_event(self, event: DriverEvent) -> None:
        await self._on_events([event])

    async def _on_events(self, events: list[DriverEvent]) -> None:
        """Report what the driver says, once (a driver asked again after a
        restart reports again what it already reported): journaled together,
        on disk before any of them is sent."""
        frames = []
        for event in events:
            try:
                frame = self._journaled(event)
            except Exception:  # one bad event must not silence the driver for good
                log.exception("could not report %s", event)
                continue
            if frame is not None:
                frames.append(frame)
        if not frames:
            return
        await self.journal.durable()
        for frame in frames:
            await self._send(frame)

    def _journaled(self, event: DriverEvent) -> dict[str, Any] | None:
        """The event's report, written to the journal; None if it was reported before."""
        journal = self.journal
        if isinstance(event, drivers.Sent | drivers.Failed) and event.command_id in journal.results:
            return None
        if (
            isinstance(event, drivers.Delivered | drivers.Undelivered)
            and event.command_id in journal.delivered
        ):
            return None
        frame = report_for(event)
        journal.report(frame)
        return frame


async def _close_when(stop: asyncio.Event, ws: ClientConnection) -> None:
    await stop.wait()
    await ws.close()


async def _one_by_one(events: AsyncIterator[DriverEvent]) -> AsyncIterator[list[DriverEvent]]:
    async for event in events:
        yield [event]


def report_for(event: DriverEvent) -> dict[str, Any]:
    """The protocol frame that reports a driver event (docs/device-protocol.md).

    Results and delivery reports take their ref from the command id, and an
    incoming SMS may bring its own, so a re-sent report is the same report
    (drivers.report_ref); the others get a fresh one.
    """
    match event:
        case drivers.Sent(_, at):
            return _about(event, "result", at, status="sent")
        case drivers.Failed(_, reason, at):
            return _about(event, "result", at, status="failed", reason=reason)
        case drivers.Delivered(_, at):
            return _about(event, "delivery", at, status="delivered")
        case drivers.Undelivered(_, reason, at):
            return _about(event, "delivery", at, status="undelivered", reason=reason)
        case drivers.IncomingSms(sender, text, at):
            ref = drivers.report_ref(event) or "s-" + secrets.token_hex(8)
            return {"type": "sms_received", "ref": ref, "from": sender, "text": text, "at": iso(at)}
        case drivers.CallEvent(kind, number, duration, at):
            return {
                "type": "call",
                "ref": "c-" + secrets.token_hex(8),
                "event": kind,
                "number": number,
                "duration": duration,
                "at": iso(at),
            }
        case _:
            assert_never(event)


def _about(
    event: drivers.Sent | drivers.Failed | drivers.Delivered | drivers.Undelivered,
    kind: str,
    at: datetime,
    **fields: str,
) -> dict[str, Any]:
    ref = drivers.report_ref(event)
    return {"type": kind, "ref": ref, "id": event.command_id, **fields, "at": iso(at)}


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
