"""The SMS Gateway for Android app's mobile API, served under `/api/mobile/v1`.

An unmodified app (v1.68) in private-server mode talks to simgate as to its
own Go server (reference/smsgate-mobile-api.md, section 13 is the minimum;
each route names its section). The user types `{public-url}/api/mobile/v1`
as the app's API URL and the device's pairing secret as its Private Token.

The app never reads an error body; it retries any non-2xx with back-off, and
a 401 makes it register again (§3, §4.1). Every value it sends is checked in
`domain/smsgate.py` before anything is stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, MutableMapping
from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from simgate import serving
from simgate.api.v1 import json_response
from simgate.domain import smsgate
from simgate.runtime import Runtime, RuntimeDep
from simgate.services import devices, mobile
from simgate.services.mobile import AppDevice
from simgate.workers.app_streams import END

log = logging.getLogger(__name__)
# Not in the OpenAPI schema: the app's protocol is its own (the reference), not
# simgate's API for its clients.
router = APIRouter(prefix=mobile.API_PATH, include_in_schema=False)
MAX_TOKEN = 200
# §5.2: a keep-alive comment at least every 15 s (proxies and phones drop
# silent connections); a shorter heartbeat setting shortens it.
KEEP_ALIVE_SECONDS = 15.0
_closing: set[asyncio.Task[None]] = set()  # "offline" writes of streams that ended


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if not header[:7].lower() == "bearer ":
        return None
    token = header[7:].strip()
    return token if 0 < len(token) <= MAX_TOKEN else None


def _refuse(status: int, message: str) -> HTTPException:
    return HTTPException(status, message)


async def _body(request: Request) -> bytes:
    """The body, refused past `smsgate.MAX_BODY` bytes (counted as it comes)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and (len(declared) > 18 or int(declared) > smsgate.MAX_BODY):
        raise _refuse(413, f"the body is over {smsgate.MAX_BODY} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > smsgate.MAX_BODY:
            raise _refuse(413, f"the body is over {smsgate.MAX_BODY} bytes")
    return bytes(body)


async def _json(request: Request) -> object:
    try:
        return smsgate.parse_json(await _body(request))
    except smsgate.WireError as exc:
        raise _refuse(400, str(exc)) from None


async def _device(request: Request, runtime: RuntimeDep) -> AppDevice:
    """§13.3: the device of the bearer token; 401 (the app registers again) otherwise."""
    token = _bearer(request)
    device = await run_in_threadpool(mobile.authenticate, runtime.engine, token) if token else None
    if device is None:
        raise _refuse(401, "invalid or revoked device token")
    return device


Device = Annotated[AppDevice, Depends(_device)]


# --- §4: the device ------------------------------------------------------------------


@router.post("/device")
async def register(request: Request, runtime: RuntimeDep) -> Response:
    """§4.2: register with `Authorization: Bearer <private token>`."""
    token = _bearer(request)
    if token is None:
        raise _refuse(401, "register with the device's private token")
    try:
        registration = smsgate.parse_registration(await _json(request))
    except smsgate.WireError as exc:
        raise _refuse(400, str(exc)) from None
    done = await run_in_threadpool(
        mobile.register,
        runtime.engine,
        token,
        registration,
        request.headers.get("user-agent", ""),
        runtime.clock.now(),
    )
    if done is None:
        raise _refuse(401, "unknown or revoked private token")
    log.info("smsgate app registered", extra={"device_id": done.id, "action": "register"})
    return json_response({"id": done.id, "token": done.token, "login": done.login}, 201)


@router.patch("/device")
async def update_device(request: Request, runtime: RuntimeDep, device: Device) -> Response:
    """§4.3: a new push token or SIM cards."""
    try:
        update = smsgate.parse_device_update(await _json(request))
    except smsgate.WireError as exc:
        raise _refuse(400, str(exc)) from None
    if not await run_in_threadpool(mobile.update_device, runtime.engine, device, update):
        raise _refuse(403, "this is not the id of the device the token belongs to")
    return Response(status_code=204)


@router.get("/device")
async def device_info(request: Request) -> Response:
    """§4.4: only the address the app comes from, shown in its local-server screen."""
    return json_response({"externalIp": request.client.host if request.client else ""})


# --- §6, §7: messages -------------------------------------------------------------------


@router.get("/message")
@router.get("/messages")
async def pending(request: Request, runtime: RuntimeDep, device: Device) -> Response:
    """§6: what the dispatcher handed to this device and the app has not taken yet."""
    order = request.query_params.get("order", "lifo")
    if order not in ("lifo", "fifo"):
        raise _refuse(400, 'order must be "lifo" or "fifo"')
    settings, streams = runtime.settings, runtime.app_streams
    budget = streams.pull_budget(device.id, device.rate_per_minute)
    pulled = await run_in_threadpool(
        mobile.pull,
        runtime.engine,
        device,
        runtime.node_name,
        order == "lifo",
        budget,
        settings.lease_seconds,
        settings.result_timeout_seconds,
        settings.max_in_flight,
        settings.max_handovers,
        runtime.clock.now(),
    )
    streams.spend(device.id, pulled.claimed)
    return json_response(pulled.messages)


@router.patch("/message")
@router.patch("/messages")
async def report(request: Request, runtime: RuntimeDep, device: Device) -> Response:
    """§7: state snapshots; stored before the answer, so a 2xx means kept."""
    try:
        reports = smsgate.parse_state_reports(await _json(request))
    except smsgate.WireError as exc:
        raise _refuse(400, str(exc)) from None
    settings = runtime.settings
    await run_in_threadpool(
        mobile.report_states,
        runtime.engine,
        device,
        reports,
        settings.max_send_attempts,
        settings.result_timeout_seconds,
        runtime.clock.now(),
    )
    return Response(status_code=204)


# --- §5.2: the event stream -------------------------------------------------------------


@router.get("/events")
async def events(request: Request, runtime: RuntimeDep, device: Device) -> Response:
    """§5.2: server-sent events. While it is open the device is connected here
    and the dispatcher's hand-overs say `MessageEnqueued` on it."""
    every = min(KEEP_ALIVE_SECONDS, runtime.settings.heartbeat_seconds)
    return StreamingResponse(
        _stream(runtime, request.scope, device, every),
        # Exactly this type: okhttp-sse refuses others (Starlette would add a charset).
        headers={
            "content-type": "text/event-stream",
            "cache-control": "no-cache",
            "x-accel-buffering": "no",  # nginx: pass each event on at once
        },
    )


async def _stream(
    runtime: Runtime, scope: MutableMapping[str, Any], device: AppDevice, every: float
) -> AsyncIterator[str]:
    """The stream's life, all of it inside the response: whatever ends it (the
    app leaving, a removed device, the server shutting down, an error), the
    device stops being connected here."""
    engine, node = runtime.engine, runtime.node_name
    stream = runtime.app_streams.open(device.id, device.account, device.rate_per_minute)
    scope[serving.END_AT_SHUTDOWN] = stream.end
    log.info("smsgate app streaming", extra={"device_id": device.id, "action": "connect"})
    try:
        await run_in_threadpool(devices.connected, engine, device.id, node)  # wakes the dispatcher
        yield smsgate.KEEP_ALIVE  # the first line at once: the app pulls on open
        while True:
            event = await stream.next(every)
            if event == END:
                return
            if event is None:
                paired = await run_in_threadpool(devices.still_paired, engine, device.id, node)
                if not paired:
                    return
                yield smsgate.KEEP_ALIVE
            else:
                yield smsgate.event_frame(event)
    finally:
        if runtime.app_streams.close(device.id, stream):
            # In a task: the stream may end by cancellation (the app left).
            now = runtime.clock.now()
            task = asyncio.create_task(
                run_in_threadpool(mobile.stream_closed, engine, device.id, node, now)
            )
            _closing.add(task)
            task.add_done_callback(_closing.discard)
        log.info("smsgate app stream ended", extra={"device_id": device.id, "action": "disconnect"})


# --- §8, §9: settings and the webhooks the app posts to simgate ---------------------------


@router.get("/settings")
async def app_settings(device: Device) -> Response:
    """§8: the key that signs the app's webhooks, and the SSE Only channel."""
    return json_response(mobile.app_settings(device))


@router.get("/webhooks")
async def app_webhooks(runtime: RuntimeDep, device: Device) -> Response:
    """§9: `sms:received` and `system:ping`, posted to simgate itself."""
    return json_response(mobile.app_webhooks(device, runtime.public_url))


@router.post("/incoming/{device_id}")
async def incoming(request: Request, device_id: str, runtime: RuntimeDep) -> Response:
    """A webhook the app posts (smsgate-local-api.md §6): the signature over the
    exact bytes is checked first; a forged or stale one stores nothing."""
    body = await _body(request)
    device = await run_in_threadpool(mobile.find_for_webhook, runtime.engine, device_id)
    now = runtime.clock.now()
    if device is None or not smsgate.signature_ok(
        device.signing_key,
        body,
        request.headers.get("x-timestamp"),
        request.headers.get("x-signature"),
        now.replace(tzinfo=UTC).timestamp(),
    ):
        log.warning("refused an unsigned or badly signed app webhook for device %.20s", device_id)
        raise _refuse(401, "bad or stale signature")
    try:
        webhook = smsgate.parse_webhook(smsgate.parse_json(body))
    except smsgate.WireError as exc:
        raise _refuse(400, str(exc)) from None
    if webhook.device_id and webhook.device_id != mobile.public_id(device):
        raise _refuse(400, "deviceId is not this device's")
    settings = runtime.settings
    await run_in_threadpool(
        mobile.receive_webhook,
        runtime.engine,
        device,
        webhook,
        runtime.node_name,
        settings.max_send_attempts,
        settings.result_timeout_seconds,
        now,
    )
    return Response(status_code=204)
