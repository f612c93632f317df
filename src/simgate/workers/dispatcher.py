"""The dispatcher: due messages → this node's connected devices.

Each tick is one transaction (services/dispatch.py): promote scheduled
messages that are due, expire leases, and claim work for every account that
has a device here with send budget left.

Waking: the commit of any transaction that wrote messages (new ones, ones
put back in the queue, or reports that free a phone) wakes it, and so does
one marked with WAKE_OPTION (a phone came online); on PostgreSQL a commit
that stored new messages also NOTIFYs every node. A poll every
`dispatch_poll_seconds` covers the rest (scheduled messages, retries).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.sql import Insert, Update
from starlette.concurrency import run_in_threadpool

from simgate.config import Settings
from simgate.device import protocol
from simgate.services import dispatch
from simgate.store.tables import messages
from simgate.workers import wake as waking

if TYPE_CHECKING:
    from datetime import datetime

    from simgate.runtime import Runtime

log = logging.getLogger(__name__)
CHANNEL = "simgate_dispatch"
# Marks a transaction (Connection.execution_options) that gives the dispatcher
# work without writing a message: a phone that came online.
WAKE_OPTION = "simgate_wake_dispatcher"
# Marks the dispatcher's own ticks: their claims do not wake it (it goes round
# again by itself when a tick claimed something).
_OWN_TICK = "simgate_dispatcher_tick"


def _may_give_work(clause: Any, options: Any) -> bool:
    if options.get(_OWN_TICK):
        return False
    if options.get(WAKE_OPTION):
        return True
    return isinstance(clause, Insert | Update) and clause.table is messages


def wake_on_commits(runtime: Runtime) -> Callable[[], None]:
    """Install the dispatcher's commit hook on the runtime's engine; returns an undo.
    Only new messages NOTIFY the other nodes: the rest concerns this node's phones."""
    return waking.watch_commits(
        runtime.engine,
        CHANNEL,
        _may_give_work,
        runtime.wake_dispatcher.set,
        notify=waking.inserts_into(messages),
    )


def _tick(
    engine: Engine,
    settings: Settings,
    plan: dict[int, dict[int, int]],
    now: datetime,
    sweep: bool,
) -> list[dispatch.Claimed]:
    claimed: list[dispatch.Claimed] = []
    with engine.begin() as conn:
        conn.execution_options(**{_OWN_TICK: True})
        if sweep:
            dispatch.promote_due(conn, now)
            dispatch.expire_leases(conn, now, settings.max_send_attempts)
        for account_id, capacity in plan.items():
            claimed += dispatch.claim(
                conn, account_id, capacity, now, settings.lease_seconds, settings.max_handovers
            )
    return claimed


async def run(runtime: Runtime, stop: asyncio.Event) -> None:
    """Worker entry point (runtime.py)."""
    hub, wake, clock = runtime.hub, runtime.wake_dispatcher, runtime.clock
    settings = runtime.settings
    last_sweep: float | None = None
    while True:
        await wake.wait(settings.dispatch_poll_seconds)
        if stop.is_set():
            return  # runtime.stop wakes it: no tick starts after shutdown begins
        wake.clear()
        now = clock.monotonic()
        sweep = last_sweep is None or now - last_sweep >= settings.dispatch_sweep_seconds
        plan = hub.plan(now)
        if not plan and not sweep:
            continue
        try:
            claimed = await run_in_threadpool(
                _tick, runtime.engine, settings, plan, clock.now(), sweep
            )
        except Exception:
            log.exception("dispatcher tick failed; retrying")
            await asyncio.sleep(settings.dispatch_poll_seconds)
            continue
        if sweep:
            last_sweep = now
        for item in claimed:
            link = hub.links.get(item.device_id)
            if link is None:  # gone meanwhile: its lease will expire
                continue
            link.spend(1)
            link.in_flight.add(item.id)
            try:
                await link.send(
                    protocol.send_sms(item.id, item.attempts, item.phone_number, item.message)
                )
            except Exception:
                log.info("device %s went away during hand-over", item.device_id)
        if claimed:
            log.debug("dispatched %d messages", len(claimed))
            wake.set()  # there may be more due right away
