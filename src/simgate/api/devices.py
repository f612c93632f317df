"""The device WebSocket (protocol v1, docs/device-protocol.md).

A device authenticates with its token (`Authorization: Bearer ...`), says
hello, and then receives `send_sms` / `dial` / `ping` frames and sends acks
and reports. Reports go to the report writer; answers come back on this socket.

Nothing shared ever waits on one device: frames to a device go through its own
bounded queue and writer task, so the dispatcher and the report writer never
block on a device that stops reading (it is closed with 4005 when its queue
is full), and a device that sends faster than its reports are stored waits
for its own (workers/reports.py), with its socket unread meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from simgate.device import protocol
from simgate.runtime import Runtime, RuntimeDep
from simgate.services import devices
from simgate.services.accounts import Account
from simgate.workers.hub import Link
from simgate.workers.reports import ReportQueue

log = logging.getLogger(__name__)
router = APIRouter()
# Seconds a device has to say hello once connected: the agent does at once,
# and a socket that says nothing must not hold a place for long.
HELLO_TIMEOUT = 10.0
# Frames waiting to go to one device: more than its in-flight SMS, report
# answers and pings ever need; a device that lets them pile up is not reading.
MAX_OUTGOING = 1024
_closing: set[asyncio.Task[None]] = set()  # close handshakes under way


def _token(ws: WebSocket) -> str | None:
    # Header only: a token in the query string would land in access logs
    # (uvicorn logs every WebSocket path with its query).
    header = ws.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


@router.websocket(protocol.PATH)
async def device_socket(ws: WebSocket, runtime: RuntimeDep) -> None:
    """One device's connection: token, hello, registration, then its frames."""
    found = await _authenticate(ws, runtime)
    if found is None:
        return
    hello = await _read_hello(ws)
    if hello is None:
        return
    device_id, rate, account = found
    outgoing = _Outgoing(ws)
    link = Link(
        device_id=device_id,
        account=account,
        rate_per_minute=rate,
        send=outgoing.send,
        close=outgoing.close,
        capabilities=hello.capabilities,
        sims=hello.sims,
        refilled_at=runtime.clock.monotonic(),
    )
    # A connection that takes no work (`device report` says hello with no
    # capabilities) only reports: it must not replace the device's own
    # connection, which would reconnect and replace it in turn.
    reporter_only = not hello.capabilities
    if not reporter_only:
        await _take_over(runtime, link)
    settings = runtime.settings
    await link.send(protocol.welcome(device_id, settings.heartbeat_seconds, settings.lease_seconds))
    log.info("device connected", extra={"device_id": device_id, "action": "connect"})

    heartbeat = asyncio.create_task(
        _heartbeat(
            link, runtime, None if reporter_only else runtime.node_name, settings.heartbeat_seconds
        )
    )
    try:
        await _receive(ws, link, runtime.reports, runtime.wake_dispatcher.set)
    finally:
        heartbeat.cancel()
        outgoing.writer.cancel()
        await _forget(runtime, link)


async def _authenticate(ws: WebSocket, runtime: Runtime) -> tuple[int, int, Account] | None:
    """The device of the connection's token; None once the socket is closed."""
    token = _token(ws)
    found = await run_in_threadpool(devices.find_by_token, runtime.engine, token) if token else None
    await ws.accept()
    if found is None:
        await _close(ws, protocol.CLOSE_BAD_TOKEN, "invalid or revoked device token")
    return found


async def _read_hello(ws: WebSocket) -> protocol.Hello | None:
    """The device's first frame, a hello in our version; None once the socket is closed."""
    try:
        hello = protocol.parse_device_frame(
            await asyncio.wait_for(ws.receive_text(), HELLO_TIMEOUT)
        )
    except protocol.FrameError as exc:
        await _close(ws, protocol.CLOSE_NO_HELLO, f"bad hello: {exc.reason}")
        return None
    except (TimeoutError, WebSocketDisconnect, KeyError, RuntimeError):
        await _close(ws, protocol.CLOSE_NO_HELLO, "the first frame must be a hello")
        return None
    if not isinstance(hello, protocol.Hello):
        await _close(ws, protocol.CLOSE_NO_HELLO, "the first frame must be a hello")
        return None
    if hello.protocol != protocol.VERSION:
        await _close(
            ws, protocol.CLOSE_BAD_VERSION, f"protocol {hello.protocol} unsupported; use 1"
        )
        return None
    return hello


class _Outgoing:
    """Frames to one device: its own bounded queue, and the one task that writes them."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(MAX_OUTGOING)
        self.writer = asyncio.create_task(_write(ws, self.queue))

    async def send(self, frame: dict[str, Any]) -> None:
        if self.writer.done():
            raise ConnectionError("the device is gone")
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            await self.close(protocol.CLOSE_TOO_SLOW, "frames not read in time")
            raise ConnectionError("the device does not read its frames") from None

    async def close(self, code: int, reason: str) -> None:
        # In the background: a close handshake with a device that does not
        # read can take until the WebSocket's close timeout, and the caller
        # may be the dispatcher or the report writer, which wait for nobody.
        self.writer.cancel()
        _closing.add(task := asyncio.create_task(_close(self.ws, code, reason)))
        task.add_done_callback(_closing.discard)


async def _take_over(runtime: Runtime, link: Link) -> None:
    """Make `link` the device's connection here, closing the one it replaces."""
    previous = runtime.hub.add(link)
    if previous is not None:
        await previous.close(protocol.CLOSE_REPLACED, "replaced by a newer connection")
    await run_in_threadpool(
        devices.connected,
        runtime.engine,
        link.device_id,
        runtime.node_name,
        runtime.clock,
        link.sims,
    )


async def _forget(runtime: Runtime, link: Link) -> None:
    """The connection ended: unless a newer one replaced it, the device is offline here."""
    device_id = link.device_id
    if runtime.hub.remove(link):
        released = await run_in_threadpool(
            devices.disconnected, runtime.engine, device_id, runtime.node_name, runtime.clock
        )
        if released:  # their commit woke the dispatcher
            log.info("device %s left with %d unacked messages; requeued", device_id, released)
    log.info("device disconnected", extra={"device_id": device_id, "action": "disconnect"})


async def _write(ws: WebSocket, outgoing: asyncio.Queue[dict[str, Any]]) -> None:
    """The only task that writes to the socket, in the order frames were queued."""
    with contextlib.suppress(Exception):  # the socket closed: the receive loop ends too
        while True:
            frame = await outgoing.get()
            await ws.send_text(protocol.encode(frame))


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        # A close reason must fit in 123 bytes.
        await ws.close(code, reason.encode()[:120].decode(errors="ignore"))


async def _receive(
    ws: WebSocket, link: Link, reports: ReportQueue, wake_dispatcher: Callable[[], None]
) -> None:
    while True:
        try:
            raw = await ws.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            return
        except KeyError:  # a binary frame
            await link.send(protocol.error("bad_frame", "frames must be JSON text"))
            continue
        try:
            frame = protocol.parse_device_frame(raw)
        except protocol.FrameError as exc:
            await link.send(protocol.error(exc.code, exc.reason, exc.ref))
            continue
        if isinstance(frame, protocol.Pong | protocol.Hello | protocol.DialAck):
            continue
        if isinstance(frame, protocol.Result):
            # Its room is free now, not once the report writer has stored it.
            link.settling.add(frame.message_id)
            link.reported()
            wake_dispatcher()
        # Back-pressure: a device that sends faster than its reports are stored
        # waits here, and its socket is not read meanwhile.
        await link.report_slots.acquire()
        reports.submit(link, frame)


async def _heartbeat(link: Link, runtime: Runtime, node: str | None, every: float) -> None:
    """Ping the device, mark it seen (on `node`, unless None), and close it
    if its token was revoked."""
    while True:
        await asyncio.sleep(every)
        paired = await run_in_threadpool(
            devices.still_paired, runtime.engine, link.device_id, node, runtime.clock
        )
        if not paired:
            await link.close(protocol.CLOSE_BAD_TOKEN, "device token revoked")
            return
        try:
            await link.send(protocol.ping(runtime.clock.now().replace(tzinfo=UTC).timestamp()))
        except Exception:
            return
