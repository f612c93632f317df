"""The devices connected to this node, with each one's send budget.

A device's budget has two limits. Its send rate is a token bucket kept here,
in memory: it is this connection's pace and dies with it. How many SMS it
holds (handed over, not yet reported on) is read from the store on every
dispatcher tick (`store/in_flight.py`), so that a hand-over whose lease
expires or whose result never comes frees its room as soon as the store says
so, without the device having to reconnect. The one thing kept here is what
the store cannot know yet: results received and still waiting for the report
writer (`Link.settling`), whose room is free at once; each leaves that set when
its frame is applied, so it never outlives the report queue.

Between ticks the hub also keeps an estimate of what each device holds
(`Link.holding`: the last tick's count, plus what it handed over, minus the
results come in since), only to leave out of a round a device that still has
most of its cap in hand: topping it up by one or two SMS at every result cost
a whole transaction each, and at hundreds of results a second the dispatcher
spent most of its time doing that. The store keeps the last word: the count
is taken again at each tick, and a sweep round plans every device.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from simgate.device import protocol
from simgate.services.accounts import Account
from simgate.services.dispatch import Plan

MAX_PENDING_REPORTS = 256  # a connection's frames waiting to be stored; then its socket waits


@dataclass(eq=False)
class Link:
    """One device's live connection."""

    device_id: int
    account: Account
    rate_per_minute: int
    send: Callable[[dict[str, Any]], Awaitable[None]]
    close: Callable[[int, str], Awaitable[None]]
    capabilities: frozenset[str] = frozenset({"sms", "call"})
    # The SIM slots its hello declared (also in devices.sims, which the
    # dispatcher's claim reads); None: it did not say, slot 1 only.
    sims: tuple[int, ...] | None = None
    # Frames of this connection waiting for the report writer (workers/reports.py).
    report_slots: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(MAX_PENDING_REPORTS)
    )
    # Messages whose result frame came and waits for the report writer: they
    # still count in the store, not against the device (at most MAX_PENDING_REPORTS).
    settling: set[int] = field(default_factory=set)
    # What it holds as of the last tick, plus hand-overs, minus results since
    # (None: no tick counted it yet).
    holding: int | None = None
    results: int = 0  # result frames received on this connection
    tokens: float = 1.0
    # The clock's monotonic reading when `tokens` was last refilled: the
    # runtime's clock, given by whoever opens the link.
    refilled_at: float = field(kw_only=True)

    @property
    def burst(self) -> float:
        # Two seconds' worth, at least one: smooth, yet not one frame per tick.
        return max(1.0, self.rate_per_minute / 30)

    def capacity(self, now: float) -> int:
        """How many SMS this device's send rate allows right now (`now` is a
        monotonic reading, in seconds)."""
        if "sms" not in self.capabilities:
            return 0
        self.tokens = min(
            self.burst, self.tokens + (now - self.refilled_at) * self.rate_per_minute / 60
        )
        self.refilled_at = now
        return max(0, int(self.tokens))

    def spend(self, count: int) -> None:
        self.tokens -= count

    def reported(self) -> None:
        """A result came: one SMS fewer in hand."""
        self.results += 1
        if self.holding:
            self.holding -= 1

    def well_supplied(self, max_in_flight: int) -> bool:
        """Whether it holds so much that a top-up can wait: less than a
        quarter of its cap is free."""
        return self.holding is not None and max_in_flight - self.holding < max(
            1, max_in_flight // 4
        )


class Hub:
    def __init__(self) -> None:
        self.links: dict[int, Link] = {}
        # Bumped (from any thread) by each commit that may have queued new work:
        # new messages, a phone coming online (workers/dispatcher.py).
        self.new_work = 0

    def work_came(self) -> None:
        self.new_work += 1

    def add(self, link: Link) -> Link | None:
        """Register `link`; returns the connection it replaces, if any."""
        previous = self.links.get(link.device_id)
        self.links[link.device_id] = link
        return previous

    def remove(self, link: Link) -> bool:
        """Forget `link` unless a newer connection of the device replaced it."""
        if self.links.get(link.device_id) is link:
            del self.links[link.device_id]
            return True
        return False

    def settling(self, plan: Plan) -> set[int]:
        """Messages of the planned devices whose results wait to be stored."""
        return {
            message_id
            for capacity in plan.values()
            for device_id in capacity
            for message_id in self.links[device_id].settling
        }

    def plan(self, now: float, max_in_flight: int | None = None) -> Plan:
        """What each device's send rate allows now, for those it allows any;
        the dispatcher then keeps each under its in-flight cap. Given the cap,
        devices `well_supplied` under it are left out."""
        plan: Plan = {}
        for link in self.links.values():
            if max_in_flight is not None and link.well_supplied(max_in_flight):
                continue
            capacity = link.capacity(now)
            if capacity > 0:
                plan.setdefault(link.account.id, {})[link.device_id] = capacity
        return plan

    async def dial(self, account_id: int, phone_number: str) -> bool:
        """Hand a dial command to one connected phone of the account."""
        for link in self.links.values():
            if link.account.id == account_id and "call" in link.capabilities:
                await link.send(protocol.dial(phone_number))
                return True
        return False
