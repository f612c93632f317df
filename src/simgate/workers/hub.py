"""The devices connected to this node, with each one's send budget."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from simgate.device import protocol
from simgate.services.accounts import Account

# SMS handed to a device and not yet reported on, at most: the rate limits
# the pace, this bounds what one phone that stops reporting holds back (until
# leases and result timeouts take it back) and what waits in its own queue.
MAX_IN_FLIGHT = 200
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
    in_flight: set[int] = field(default_factory=set)
    # Frames of this connection waiting for the report writer (workers/reports.py).
    report_slots: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(MAX_PENDING_REPORTS)
    )
    tokens: float = 1.0
    refilled_at: float = field(default_factory=time.monotonic)

    @property
    def burst(self) -> float:
        # Two seconds' worth, at least one: smooth, yet not one frame per tick.
        return max(1.0, self.rate_per_minute / 30)

    def capacity(self, now: float) -> int:
        """How many SMS this device may be handed right now."""
        if "sms" not in self.capabilities:
            return 0
        self.tokens = min(
            self.burst, self.tokens + (now - self.refilled_at) * self.rate_per_minute / 60
        )
        self.refilled_at = now
        return max(0, min(int(self.tokens), MAX_IN_FLIGHT - len(self.in_flight)))

    def spend(self, count: int) -> None:
        self.tokens -= count


class Hub:
    def __init__(self) -> None:
        self.links: dict[int, Link] = {}

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

    def plan(self, now: float | None = None) -> dict[int, dict[int, int]]:
        """account id → {device id → capacity} for devices that can take work
        `now` (monotonic seconds, the runtime clock's)."""
        now = time.monotonic() if now is None else now
        plan: dict[int, dict[int, int]] = {}
        for link in self.links.values():
            capacity = link.capacity(now)
            if capacity > 0:
                plan.setdefault(link.account.id, {})[link.device_id] = capacity
        return plan

    async def dial(self, account_id: int, phone_number: str) -> bool:
        """Hand a dial command to one connected phone of the account."""
        for link in self.links.values():
            if link.account.id == account_id and "call" in link.capabilities:
                await link.send(protocol.dial("call_" + secrets.token_hex(8), phone_number))
                return True
        return False
