"""The device WebSocket (protocol v1, docs/device-protocol.md).

A device authenticates with its token (`Authorization: Bearer ...`), says
hello, and then receives
`send_sms` / `dial` / `ping` frames and sends acks and reports. Reports go to
the report writer; answers come back on this socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import Engine, select
from starlette.concurrency import run_in_threadpool

from simgate.device import protocol
from simgate.domain import ids
from simgate.services import dispatch
from simgate.services.accounts import Account
from simgate.store.tables import accounts, devices
from simgate.workers.hub import Hub, Link

log = logging.getLogger(__name__)
router = APIRouter()
HELLO_TIMEOUT = 10.0


def _lookup(engine: Engine, token: str) -> tuple[int, int, Account] | None:
    """(device id, rate, account) for a live token, else None."""
    with engine.connect() as conn:
        row = conn.execute(
            select(
                devices.c.id,
                devices.c.rate_per_minute,
                devices.c.account_id,
                accounts.c.email,
                accounts.c.timezone,
                accounts.c.region,
            )
            .join(accounts, accounts.c.id == devices.c.account_id)
            .where(devices.c.token_hash == ids.hash_secret(token), devices.c.removed_at.is_(None))
        ).first()
    if row is None:
        return None
    account = Account(row.account_id, row.email, row.timezone, row.region)
    return row.id, row.rate_per_minute, account


def _still_paired(engine: Engine, device_id: int, node: str) -> bool:
    """Heartbeat bookkeeping: is the device still paired? Also marks it seen."""
    with engine.begin() as conn:
        removed = conn.execute(
            select(devices.c.removed_at).where(devices.c.id == device_id)
        ).scalar()
        if removed is not None:
            return False
        dispatch.set_online(conn, device_id, node)
    return True


def _online(engine: Engine, device_id: int, node: str) -> None:
    with engine.begin() as conn:
        dispatch.set_online(conn, device_id, node)


def _offline(engine: Engine, device_id: int, node: str) -> int:
    with engine.begin() as conn:
        dispatch.set_offline(conn, device_id, node)
        return dispatch.release_unacked(conn, device_id)


def _token(ws: WebSocket) -> str | None:
    # Header only: a token in the query string would land in access logs
    # (uvicorn logs every WebSocket path with its query).
    header = ws.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


@router.websocket(protocol.PATH)
async def device_socket(ws: WebSocket) -> None:
    state = ws.app.state
    engine: Engine = state.engine
    hub: Hub = state.hub
    token = _token(ws)
    found = await run_in_threadpool(_lookup, engine, token) if token else None
    await ws.accept()
    if found is None:
        await ws.close(protocol.CLOSE_BAD_TOKEN, "invalid or revoked device token")
        return
    device_id, rate, account = found

    try:
        hello = protocol.parse_device_frame(
            await asyncio.wait_for(ws.receive_text(), HELLO_TIMEOUT)
        )
    except (TimeoutError, protocol.FrameError, WebSocketDisconnect, KeyError):
        with contextlib.suppress(Exception):
            await ws.close(protocol.CLOSE_NO_HELLO, "the first frame must be a hello")
        return
    if hello["type"] != "hello":
        await ws.close(protocol.CLOSE_NO_HELLO, "the first frame must be a hello")
        return
    if hello["protocol"] != protocol.VERSION:
        await ws.close(
            protocol.CLOSE_BAD_VERSION, f"protocol {hello['protocol']} unsupported; use 1"
        )
        return

    send_lock = asyncio.Lock()

    async def send(frame: dict[str, Any]) -> None:
        async with send_lock:
            await ws.send_text(protocol.encode(frame))

    async def close(code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await ws.close(code, reason)

    capabilities = hello.get("capabilities")
    link = Link(
        device_id=device_id,
        account=account,
        rate_per_minute=rate,
        send=send,
        close=close,
        capabilities=frozenset(capabilities)
        if isinstance(capabilities, list)
        else frozenset({"sms", "call"}),
    )
    previous = hub.add(link)
    if previous is not None:
        await previous.close(protocol.CLOSE_REPLACED, "replaced by a newer connection")
    node: str = state.node_name
    await run_in_threadpool(_online, engine, device_id, node)
    settings = state.settings
    await send(protocol.welcome(device_id, settings.heartbeat_seconds, settings.lease_seconds))
    log.info("device connected", extra={"device_id": device_id, "action": "connect"})
    state.wake_dispatcher()

    heartbeat = asyncio.create_task(_heartbeat(ws, link, engine, node, settings.heartbeat_seconds))
    try:
        await _receive(ws, link, state)
    finally:
        heartbeat.cancel()
        if hub.remove(link):
            released = await run_in_threadpool(_offline, engine, device_id, node)
            if released:
                log.info("device %s left with %d unacked messages; requeued", device_id, released)
            state.wake_dispatcher()
        log.info("device disconnected", extra={"device_id": device_id, "action": "disconnect"})


async def _receive(ws: WebSocket, link: Link, state: Any) -> None:
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
        kind = frame["type"]
        if kind in ("pong", "hello"):
            continue
        if kind == "result":
            parsed = protocol.parse_command_id(frame["id"])
            if parsed is not None:
                link.in_flight.discard(parsed[0])
                state.wake_dispatcher()
        state.reports.submit(link, frame)


async def _heartbeat(ws: WebSocket, link: Link, engine: Engine, node: str, every: float) -> None:
    """Ping the device, mark it seen, and close it if its token was revoked."""
    while True:
        await asyncio.sleep(every)
        paired = await run_in_threadpool(_still_paired, engine, link.device_id, node)
        if not paired:
            await link.close(protocol.CLOSE_BAD_TOKEN, "device token revoked")
            return
        try:
            await link.send(protocol.ping(time.time()))
        except Exception:
            return
