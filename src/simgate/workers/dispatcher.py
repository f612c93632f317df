"""The dispatcher: due messages → this node's connected devices.

Each tick is one transaction (`services.dispatch.tick`): promote scheduled
messages that are due, expire leases, and claim work for every account that
has a device here with send budget left: its send rate allows more, and it
holds fewer than `max_in_flight` messages (counted in the same transaction,
after expired leases went back to the queue).

Waking: the commit of any transaction that wrote messages (new ones, ones
put back in the queue, or reports that free a phone) wakes it, and so does
one marked with WAKE_OPTION (a phone came online); on PostgreSQL a commit
that stored new messages also NOTIFYs every node. A poll every
`dispatch_poll_seconds` covers the rest (scheduled messages, retries).

A round leaves out the accounts whose queue the last tick found empty,
until a commit brings new work (new messages, a phone online, another
node's NOTIFY) or a sweep comes: a result frees a phone's room but queues
nothing, and each one cost an empty tick (half the ticks of a steady load).
A message put back in the queue otherwise (a failed send to try elsewhere,
a phone gone) waits for that sweep, `dispatch_sweep_seconds` at most.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from simgate.device import protocol
from simgate.services import dispatch
from simgate.store import messages as message_store
from simgate.store.notify import watch_commits

if TYPE_CHECKING:
    from simgate.runtime import Runtime

log = logging.getLogger(__name__)
CHANNEL = "simgate_dispatch"
WAKE_OPTION, _OWN_TICK = dispatch.WAKE_OPTION, dispatch.OWN_TICK


def _may_give_work(clause: Any, options: Any) -> bool:
    if options.get(_OWN_TICK):
        return False
    if options.get(WAKE_OPTION):
        return True
    return message_store.writes_messages(clause)


def _brings_work(clause: Any, options: Any) -> bool:
    return bool(options.get(WAKE_OPTION)) or message_store.INSERTS_MESSAGES(clause, options)


def wake_on_commits(runtime: Runtime) -> Callable[[], None]:
    """Install the dispatcher's commit hooks on the runtime's engine; returns an undo.
    Only new messages NOTIFY the other nodes: the rest concerns this node's phones.
    A commit that may bring new work (new messages, a phone online) also says
    so to the hub, for accounts whose queue a tick found empty."""
    # First: hooks run in the order they were installed, and the round the
    # wake starts must find the work counted.
    undo_work = watch_commits(
        runtime.engine, CHANNEL + "_work", _brings_work, runtime.hub.work_came, notify=_never
    )
    undo_wake = watch_commits(
        runtime.engine,
        CHANNEL,
        _may_give_work,
        runtime.wake_dispatcher.set,
        notify=message_store.INSERTS_MESSAGES,
    )

    def undo() -> None:
        undo_wake()
        undo_work()

    return undo


def _never(_clause: Any, _options: Any) -> bool:
    return False


async def run(runtime: Runtime, stop: asyncio.Event) -> None:
    """Worker entry point (runtime.py): a round on every wake-up or poll."""
    dispatcher = Dispatcher(runtime)
    wake, poll = runtime.wake_dispatcher, runtime.settings.dispatch_poll_seconds
    while True:
        await wake.wait(poll)
        if stop.is_set():
            return  # runtime.stop wakes it: no tick starts after shutdown begins
        wake.clear()
        try:
            # A node draining for a stop hands out nothing more: its phones'
            # sockets are about to close (Runtime.drain waits for this round).
            async with runtime.handing_over:
                if runtime.draining.is_set():
                    continue
                claimed = await dispatcher.run_round()
        except Exception:
            log.exception("dispatcher tick failed; retrying")
            await asyncio.sleep(poll)
            continue
        if claimed:
            log.debug("dispatched %d messages", claimed)
            wake.set()  # there may be more due right away


class Dispatcher:
    """This node's dispatching rounds, each at the time of the runtime's clock
    (tests drive them one by one with a clock of their own)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.last_sweep: float | None = None
        # Accounts whose queue the last tick emptied: a round woken only by
        # results (room freed, no new work) leaves them out, where it cost a
        # tick that handed over nothing. New work (hub.new_work moved) or a
        # sweep round, which promotes what fell due, brings them back.
        self.drained: set[int] = set()
        self.new_work_seen = runtime.hub.new_work

    async def run_round(self) -> int:
        """One tick, then the claimed messages go to their devices; returns how
        many were claimed."""
        runtime, settings = self.runtime, self.runtime.settings
        hub, clock = runtime.hub, runtime.clock
        now = clock.monotonic()
        sweep = self.last_sweep is None or now - self.last_sweep >= settings.dispatch_sweep_seconds
        if sweep or hub.new_work != self.new_work_seen:
            self.drained.clear()
            self.new_work_seen = hub.new_work
        # A sweep round plans every device: its count in hand is taken again.
        plan = hub.plan(now, None if sweep else settings.max_in_flight)
        plan = {a: capacity for a, capacity in plan.items() if a not in self.drained}
        if not plan and not sweep:
            return 0
        drained: set[int] = set()
        holding: dict[int, int] = {}
        # Results that come in during the tick may be in its count or not:
        # taken off, the estimate can only be low, which costs one early tick.
        before = {link.device_id: (link, link.results) for link in hub.links.values()}
        claimed = await run_in_threadpool(
            dispatch.tick,
            runtime.engine,
            plan,
            settings.lease_seconds,
            settings.max_send_attempts,
            settings.max_handovers,
            settings.max_in_flight,
            hub.settling(plan),
            sweep,
            clock.now(),
            holding,
            drained,
        )
        if sweep:
            self.last_sweep = now
        self.drained |= drained
        for device_id, count in holding.items():
            link, results = before.get(device_id, (None, 0))
            if link is not None and hub.links.get(device_id) is link:  # not replaced meanwhile
                link.holding = max(0, count - (link.results - results))
        for item in claimed:
            link = hub.links.get(item.device_id)
            if link is None:  # gone meanwhile: its lease will expire
                continue
            link.spend(1)
            try:
                await link.send(
                    protocol.send_sms(
                        item.id,
                        item.attempts,
                        item.phone_number,
                        item.message,
                        valid_until=item.valid_until,
                        sim=item.sim,
                    )
                )
            except Exception:
                log.info("device %s went away during hand-over", item.device_id)
        return len(claimed)
