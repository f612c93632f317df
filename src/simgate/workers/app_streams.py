"""The SMS Gateway apps connected to this node: their event streams and pull budgets.

An app that holds `GET /events` open here (its "SSE Only" channel,
reference/smsgate-mobile-api.md §5.2) is a device connected here, like an
agent holding its WebSocket: it has a `Link` in the hub while any of its
streams is open, so the dispatcher hands it work within its send rate and
in-flight cap. The hand-over (`Link.send`) tells each of its streams
`MessageEnqueued`, and the app pulls (`GET /message`).

An app with no stream here (it polls, or its stream is on another node) takes
its work when it pulls, within the budget `pull_budget` keeps for it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from simgate.clock import Clock
from simgate.domain.smsgate import WORK_EVENT
from simgate.services.accounts import Account
from simgate.workers.hub import Hub, Link

END = "end"  # what `Stream.next` says when the stream must end


class Stream:
    """One open `GET /events`: whether work or the end waits to be told."""

    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._work = False
        self._ended = False

    def tell_work(self) -> None:
        # One "there is work" waiting is as good as ten: the app pulls all
        # there is on each (§5: every event restarts its pull job).
        self._work = True
        self._wake.set()

    def end(self) -> None:
        self._ended = True
        self._wake.set()

    async def next(self, timeout: float) -> str | None:
        """WORK_EVENT, END, or None when `timeout` seconds pass first."""
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            return None
        self._wake.clear()
        if self._ended:
            return END
        self._work = False
        return WORK_EVENT


@dataclass(slots=True)
class _Budget:
    tokens: float
    at: float


@dataclass(eq=False)
class AppStreams:
    hub: Hub
    clock: Clock
    _streams: dict[int, set[Stream]] = field(default_factory=dict)
    _budgets: dict[int, _Budget] = field(default_factory=dict)

    def open(self, device_id: int, account: Account, rate_per_minute: int) -> Stream:
        """A stream of the device opened here; its first makes the device
        connected here (a Link in the hub)."""
        stream = Stream()
        streams = self._streams.setdefault(device_id, set())
        streams.add(stream)
        if len(streams) == 1:
            self.hub.add(self._link(device_id, account, rate_per_minute))
        return stream

    def close(self, device_id: int, stream: Stream) -> bool:
        """A stream ended; True when it was the device's last one here (the
        device is no longer connected here)."""
        streams = self._streams.get(device_id, set())
        streams.discard(stream)
        if streams:
            return False
        self._streams.pop(device_id, None)
        link = self.hub.links.get(device_id)
        if link is not None:
            self.hub.remove(link)
        return True

    def streaming(self, device_id: int) -> bool:
        return bool(self._streams.get(device_id))

    def end_all(self, device_id: int) -> None:
        for stream in list(self._streams.get(device_id, ())):
            stream.end()

    def pull_budget(self, device_id: int, rate_per_minute: int) -> int:
        """How many SMS an app with no stream here may take on this pull: its
        send rate, a minute's worth at most (a token bucket; `spend` after)."""
        if self.streaming(device_id):
            return 0  # the dispatcher hands it its work
        now = self.clock.monotonic()
        budget = self._budgets.get(device_id)
        if budget is None:
            budget = self._budgets[device_id] = _Budget(float(rate_per_minute), now)
        budget.tokens = min(
            float(rate_per_minute), budget.tokens + (now - budget.at) * rate_per_minute / 60
        )
        budget.at = now
        return int(budget.tokens)

    def spend(self, device_id: int, count: int) -> None:
        budget = self._budgets.get(device_id)
        if budget is not None:
            budget.tokens -= count

    def _link(self, device_id: int, account: Account, rate_per_minute: int) -> Link:
        async def send(_frame: dict[str, Any]) -> None:
            # The hand-over is in the store already; the app pulls it.
            for stream in list(self._streams.get(device_id, ())):
                stream.tell_work()

        async def close(_code: int, _reason: str) -> None:
            self.end_all(device_id)

        return Link(
            device_id=device_id,
            account=account,
            rate_per_minute=rate_per_minute,
            send=send,
            close=close,
            capabilities=frozenset({"sms"}),  # the app places no calls for simgate
            refilled_at=self.clock.monotonic(),
        )
