"""The dispatcher: due messages → this node's connected devices.

Each tick is one transaction (services/dispatch.py): promote scheduled
messages that are due, expire leases, and claim work for every account that
has a device here with send budget left: its send rate allows more, and it
holds fewer than `max_in_flight` messages (counted in the same transaction,
after expired leases went back to the queue). It wakes when a commit stores new
messages (on any node: on PostgreSQL that commit NOTIFYs every node) or a
device frees capacity, and every half second otherwise (scheduled messages,
retries).
"""

from __future__ import annotations

import asyncio
import logging
import time

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from simgate.device import protocol
from simgate.domain.dates import utcnow
from simgate.services import dispatch
from simgate.store import in_flight
from simgate.store.tables import messages
from simgate.workers import wake as waking
from simgate.workers.hub import Hub, Plan, limit_in_flight

log = logging.getLogger(__name__)
TICK = 0.5
CHANNEL = "simgate_dispatch"
SWEEP_EVERY = 1.0


def _tick(
    engine: Engine,
    plan: Plan,
    lease: float,
    max_attempts: int,
    max_handovers: int,
    max_in_flight: int,
    settling: set[int],
    sweep: bool,
) -> list[dispatch.Claimed]:
    now = utcnow()
    claimed: list[dispatch.Claimed] = []
    with engine.begin() as conn:
        if sweep:
            dispatch.promote_due(conn, now)
            dispatch.expire_leases(conn, now, max_attempts)
        if plan:
            devices = [device_id for capacity in plan.values() for device_id in capacity]
            held = in_flight.held_by(conn, devices, settling)
            plan = limit_in_flight(plan, held, max_in_flight)
        for account_id, capacity in plan.items():
            claimed += dispatch.claim(conn, account_id, capacity, now, lease, max_handovers)
    return claimed


async def run(app: FastAPI, stop: asyncio.Event) -> None:
    engine: Engine = app.state.engine
    unwatch = waking.watch_commits(
        engine, CHANNEL, waking.inserts_into(messages), app.state.wake_dispatcher
    )
    listening = waking.listen_in_thread(engine, CHANNEL, app.state.wake_dispatcher)
    try:
        await _loop(app, stop)
    finally:
        listening.set()
        unwatch()


async def _loop(app: FastAPI, stop: asyncio.Event) -> None:
    hub: Hub = app.state.hub
    wake: asyncio.Event = app.state.dispatch_event
    settings = app.state.settings
    last_sweep = 0.0
    while not stop.is_set():
        try:
            await asyncio.wait_for(wake.wait(), TICK)
        except TimeoutError:
            pass
        wake.clear()
        now = time.monotonic()
        sweep = now - last_sweep >= SWEEP_EVERY
        plan = hub.plan(now)
        if not plan and not sweep:
            continue
        try:
            claimed = await run_in_threadpool(
                _tick,
                app.state.engine,
                plan,
                settings.lease_seconds,
                settings.max_send_attempts,
                settings.max_handovers,
                settings.max_in_flight,
                hub.settling(plan),
                sweep,
            )
        except Exception:
            log.exception("dispatcher tick failed; retrying")
            await asyncio.sleep(TICK)
            continue
        if sweep:
            last_sweep = now
        for item in claimed:
            link = hub.links.get(item.device_id)
            if link is None:  # gone meanwhile: its lease will expire
                continue
            link.spend(1)
            try:
                await link.send(
                    protocol.send_sms(item.id, item.attempts, item.phone_number, item.message)
                )
            except Exception:
                log.info("device %s went away during hand-over", item.device_id)
        if claimed:
            log.debug("dispatched %d messages", len(claimed))
            wake.set()  # there may be more due right away
