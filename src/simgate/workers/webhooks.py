"""The webhook sender: outbox rows → GET requests to the callback URLs.

Claiming: a row is due when pending, `next_attempt_at` has passed and no live
claim holds it. One statement claims a batch by setting `claimed_until`
(`UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)` on PostgreSQL;
on SQLite the same guarded UPDATE under the database's single write lock), so
several nodes never send one row at once. A node that dies holding claims
loses nothing: the claims lapse and any node sends the rows.

Sending: many requests at once (`webhook_concurrency`), at most
`webhook_per_host` to one destination, so a slow receiver holds back only its
own deliveries; rows over a host's share (domain/fair_share.py) are left
in the table for later.
Outcomes are written in small batches. Any 2xx is done; 410 is dead at once;
anything else (redirects are not followed, timeouts, refused connections, the
SSRF guard) is retried on the schedule, honouring Retry-After on 429/503, then
dead.

Waking: the engine's commits that wrote outbox rows wake the sender at once;
on PostgreSQL they also NOTIFY the other nodes, which LISTEN; a poll every
`webhook_poll_seconds` picks up what is left (rows written elsewhere, retries,
lapsed claims). See store/notify.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import anyio.to_thread
import httpx
from sqlalchemy import Engine

from simgate import metrics
from simgate._wire import sign
from simgate.clock import Clock
from simgate.config import Settings
from simgate.domain import fair_share
from simgate.domain.payloads import delivery_url
from simgate.domain.retry import next_delay, parse_retry_after
from simgate.services.urlguard import RefusedAddress, transport
from simgate.store import accounts, outbox
from simgate.store.notify import watch_commits
from simgate.workers import wake

if TYPE_CHECKING:
    from simgate.runtime import Runtime

log = logging.getLogger(__name__)
# At a timed stop: the part of what is left that requests under way may not use.
STOP_RESERVE_SECONDS = 1.5

CHANNEL = "simgate_webhooks"


def wake_on_commits(runtime: Runtime) -> Callable[[], None]:
    """Install the sender's commit hook on the runtime's engine; returns an undo."""
    return watch_commits(runtime.engine, CHANNEL, outbox.wakes_sender, runtime.wake_webhooks.set)


# Outcomes wait this long to be written together: one commit for a burst of them.
FLUSH_SECONDS = 0.02
MAX_BODY = 64 * 1024  # read this much of an answer at most (it is ignored anyway)
USER_AGENT = "simgate-webhooks"


@dataclass(slots=True)
class Delivery:
    id: int
    event_id: str
    kind: str
    url: str
    payload: str
    attempts: int  # before this one
    secret: str | None
    host: str
    start_by: float  # monotonic; past it the claim may lapse mid-request: do not start
    queued_at: datetime  # the row's created_at, on the clock's time


@dataclass(slots=True)
class Outcome:
    id: int
    state: str  # pending (retry), done, dead, or "release" (untouched, claim dropped)
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None


@dataclass(slots=True)
class Claim:
    deliveries: list[Delivery]
    full: bool = False  # as many rows as asked and none handed back: more may be due
    over_share: set[str] = field(default_factory=set)  # hosts whose rows were handed back


async def run(runtime: Runtime, stop: asyncio.Event) -> None:
    """Worker entry point (runtime.py)."""
    # httpx logs every request's URL at INFO; ours carry the payloads (customer
    # data), and one line per delivery would also cost a tenth of the CPU.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    sender = Sender(
        runtime.engine,
        runtime.settings,
        runtime.wake_webhooks,
        runtime.clock,
        time_left=runtime.time_left,
    )
    await sender.run(stop)


class Sender:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        wakeup: wake.Wakeup,
        clock: Clock,
        time_left: Callable[[], float | None] = lambda: None,
    ) -> None:
        self.engine = engine
        # At a stop asked for (SIGTERM): seconds left of its bound, in which the
        # requests under way may end; None: they are cut off at once.
        self.time_left = time_left
        self.settings = settings
        self.clock = clock
        self.schedule = settings.webhook_retry_schedule
        self.timeout = settings.webhook_timeout_seconds
        self.poll = settings.webhook_poll_seconds
        # A claim outlives the longest wait behind a busy host plus one request.
        self.lease = 4 * self.timeout + 2
        self.concurrency = settings.webhook_concurrency
        self.per_host = settings.webhook_per_host
        self.max_held = fair_share.max_held(self.concurrency)
        self.host_cap = fair_share.host_cap(self.concurrency, self.per_host)
        self.held: dict[int, Delivery] = {}
        self.host_held: dict[str, int] = {}
        self.host_slots: dict[str, asyncio.Semaphore] = {}
        self.slots = asyncio.Semaphore(self.concurrency)
        self.results: list[Outcome] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self._wake = wakeup  # given by the commit hook and the listener (runtime.py)
        self._flush_wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._more_due = False  # the last claim was full within shares: more may be due
        self._more_for: set[str] = set()  # hosts that may have more due rows than they got
        self._closing = False  # set at stop: no request starts any more

    # --- the loop -----------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        client = httpx.AsyncClient(
            transport=transport(self.settings.allow_private_callbacks, self.concurrency),
            timeout=self.timeout,
            follow_redirects=False,
            trust_env=False,  # a proxy would resolve names itself, past the guard
        )
        flusher = asyncio.create_task(self._flush_loop(stop))
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                self._wake.clear()
                if await self._claim_round(client):
                    continue
                waker = asyncio.create_task(self._wake.wait(self.poll))
                await asyncio.wait({waker, stopping}, return_when="FIRST_COMPLETED")
                waker.cancel()
        finally:
            stopping.cancel()
            claimed = await self._end_deliveries()
            await self._stop_flusher(flusher, stopped=stop.is_set())
            # Whatever was claimed and not settled goes back at once rather than
            # when its claim lapses; a request cut off mid-way may be sent again.
            self._release_and_flush(claimed)
            await client.aclose()

    async def _claim_round(self, client: httpx.AsyncClient) -> bool:
        """Claim a batch and start its deliveries; True to claim again at once."""
        # Batches of at most one host's share: rows over a share are handed
        # back, so a bigger batch would mostly be claimed to be returned.
        room = min(self.max_held - len(self.held), self.host_cap)
        if room <= 0:
            return False
        skip = self._saturated_urls()
        try:
            # anyio's threads, not asyncio's: shutdown waits for them before
            # the engine is disposed (app.py).
            claim = await anyio.to_thread.run_sync(self._claim, room, skip, dict(self.host_held))
        except Exception:
            log.exception("webhook claim failed; retrying")
            claim = Claim([])
        self._more_due = claim.full
        for delivery in claim.deliveries:
            self._start(client, delivery)
        # Hosts that may have more rows than they got: each gets a claim of its
        # own once it has worked most of its share off (_deliver).
        self._more_for |= {fair_share.host_key(url) for url in skip} | claim.over_share
        if claim.full:
            self._more_for |= {d.host for d in claim.deliveries}
        return claim.full and len(self.held) < self.max_held and bool(claim.deliveries)

    async def _end_deliveries(self) -> list[int]:
        """Let the deliveries under way finish while the stop's bound allows
        (each request ends within the webhook timeout), then cut off the rest;
        returns the ids still held, which go back to the queue."""
        self._closing = True  # those waiting for their turn hand their rows back
        left = self.time_left()
        # Ended before the supervisor's own cut (a second before the bound), with
        # time left to record the outcomes and hand the rest back.
        wait = min((left or 0.0) - STOP_RESERVE_SECONDS, self.timeout + 1)
        if wait > 0 and self.tasks:
            await asyncio.wait(set(self.tasks), timeout=wait)
        claimed = list(self.held)
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        return claimed

    async def _stop_flusher(self, flusher: asyncio.Task[None], stopped: bool) -> None:
        if stopped:
            # Not cancelled: a write under way in its thread would go on
            # after the engine is disposed (anyio frees the thread's place
            # on cancellation, so shutdown would not wait for it).
            self._flush_wake.set()
            await flusher
        else:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher

    def _saturated_urls(self) -> list[str]:
        full = fair_share.full_hosts(self.host_held, self.host_cap)
        return sorted({d.url for d in self.held.values() if d.host in full})

    def _start(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        if delivery.id in self.held:  # claimed again after its claim lapsed: one task is enough
            return
        self.held[delivery.id] = delivery
        self.host_held[delivery.host] = self.host_held.get(delivery.host, 0) + 1
        task = asyncio.create_task(self._deliver(client, delivery))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _deliver(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        slot = self.host_slots.get(delivery.host)
        if slot is None:
            slot = self.host_slots[delivery.host] = asyncio.Semaphore(self.per_host)
        try:
            try:
                # Wait for the host's turn only while the claim is sure to outlast
                # the request; then hand the row back untouched instead.
                start_in = delivery.start_by - self.clock.monotonic()
                async with asyncio.timeout(max(0.0, start_in)):
                    await slot.acquire()
            except TimeoutError:
                outcome = Outcome(delivery.id, "release", delivery.attempts, None, None, None)
            else:
                try:
                    async with self.slots:
                        if self._closing:  # stopping: no new request, the row goes back
                            outcome = Outcome(
                                delivery.id, "release", delivery.attempts, None, None, None
                            )
                        else:
                            outcome = await self._attempt(client, delivery)
                finally:
                    slot.release()
                self._count(delivery, outcome)
            self.results.append(outcome)
            self._flush_wake.set()
        finally:
            del self.held[delivery.id]
            left = self.host_held[delivery.host] - 1
            if left:
                self.host_held[delivery.host] = left
            else:
                del self.host_held[delivery.host]
                self.host_slots.pop(delivery.host, None)
            # Claim again once there is room for a worthwhile batch, not per row.
            if self._more_due and len(self.held) <= self.max_held - self.host_cap:
                self._wake.set()
            elif delivery.host in self._more_for and left <= self.host_cap // 4:
                self._more_for.discard(delivery.host)
                self._wake.set()

    async def _attempt(self, client: httpx.AsyncClient, d: Delivery) -> Outcome:
        # The id goes out signed or not: receivers dedupe on it (delivery is at least once).
        headers = {"user-agent": USER_AGENT, "webhook-id": d.event_id}
        if d.secret:
            stamp = int(self.clock.now().replace(tzinfo=UTC).timestamp())
            headers |= {
                "webhook-timestamp": str(stamp),
                "webhook-signature": sign(d.payload, d.secret, d.event_id, stamp),
            }
        attempts = d.attempts + 1
        status: int | None = None
        retry_after: float | None = None
        try:
            async with asyncio.timeout(self.timeout):
                # A ready Request skips the client's merging of base URL,
                # headers and cookies: a sixth of the CPU per delivery.
                request = httpx.Request(
                    "GET", delivery_url(d.url, d.kind, d.payload), headers=headers
                )
                response = await client.send(request, stream=True)
                try:
                    status = response.status_code
                    if status in (429, 503):
                        retry_after = parse_retry_after(
                            response.headers.get("retry-after"), self.clock.now()
                        )
                    await _drain(response)
                finally:
                    await response.aclose()
        except RefusedAddress as exc:
            error = str(exc)
        except (TimeoutError, httpx.TimeoutException):
            error = f"no answer within {self.timeout:g} s"
        except httpx.HTTPError as exc:
            error = _describe(exc)
        except Exception as exc:  # e.g. a URL httpx cannot send: fail the attempt, not the loop
            log.warning("webhook %s attempt failed: %s", d.event_id, type(exc).__name__)
            error = f"cannot send: {type(exc).__name__}"
        else:
            if 200 <= status < 300:
                return Outcome(d.id, "done", attempts, None, status, None)
            if status == 410:
                return Outcome(d.id, "dead", attempts, None, status, "410 Gone: receiver said stop")
            error = f"HTTP {status}"
            if 300 <= status < 400:
                error += " (redirects are not followed)"
        delay = next_delay(self.schedule, attempts, retry_after)
        if delay is None:
            log.info("webhook %s dead after %d attempts: %s", d.event_id, attempts, error)
            return Outcome(d.id, "dead", attempts, None, status, error)
        if delay < self.poll and self._loop is not None:
            self._loop.call_later(delay + FLUSH_SECONDS * 2, self._wake.set)
        next_at = self.clock.now() + timedelta(seconds=delay)
        return Outcome(d.id, "pending", attempts, next_at, status, error)

    def _count(self, delivery: Delivery, outcome: Outcome) -> None:
        # Counted once known, before the outcome is written: a node that dies
        # before the write sends the row again, and counts that attempt too.
        if outcome.state == "done":
            metrics.webhook_attempt("delivered")
            waited = (self.clock.now() - delivery.queued_at).total_seconds()
            metrics.webhook_delivery_seconds.observe(max(0.0, waited))
        else:
            metrics.webhook_attempt("dead" if outcome.state == "dead" else "retry")

    # --- the store ----------------------------------------------------------

    def _claim(self, limit: int, skip_urls: list[str], host_counts: dict[str, int]) -> Claim:
        """Claim up to `limit` due rows, at most `host_cap` held per host in all.

        `host_counts` is a copy of what this node holds per host (this runs in
        a thread). Rows over a host's share are handed back in the same
        transaction, so one host with a big backlog cannot fill every place.
        """
        now = self.clock.now()
        until = now + timedelta(seconds=self.lease)
        start_by = self.clock.monotonic() + self.lease - self.timeout - 2
        with self.engine.begin() as conn:
            rows = outbox.claim_due(conn, now, limit, skip_urls, until)
            share = fair_share.share_by_host(rows, lambda r: r.url, host_counts, self.host_cap)
            if share.handed_back:
                outbox.unclaim(conn, [r.id for r in share.handed_back])
            if not share.kept:
                return Claim([], over_share=share.over_share)
            secrets = accounts.webhook_secrets(conn, {r.account_id for r, _ in share.kept})
        deliveries = [
            Delivery(
                r.id,
                r.event_id,
                r.kind,
                r.url,
                r.payload,
                r.attempts,
                secrets.get(r.account_id),
                host,
                start_by,
                r.created_at,
            )
            for r, host in share.kept
        ]
        full = len(rows) == limit and share.whole
        return Claim(deliveries, full, share.over_share)

    async def _flush_loop(self, stop: asyncio.Event) -> None:
        """Record outcomes in small batches until `stop` (_release_and_flush
        records what is left)."""
        while not stop.is_set():
            await self._flush_wake.wait()
            await asyncio.sleep(FLUSH_SECONDS)  # gather a batch
            self._flush_wake.clear()
            batch, self.results = self.results, []
            if not batch:
                continue
            try:
                await anyio.to_thread.run_sync(self._write, batch)
            except Exception:
                log.exception("could not record %d webhook outcomes; retrying", len(batch))
                self.results[:0] = batch
                await asyncio.sleep(0.5)
                self._flush_wake.set()

    def _write(self, batch: list[Outcome]) -> None:
        now = self.clock.now()
        settled = [o for o in batch if o.state != "release"]
        released = [o.id for o in batch if o.state == "release"]
        with self.engine.begin() as conn:
            if settled:
                outbox.settle(conn, settled, now)
            if released:
                outbox.unclaim(conn, released)

    def _release_and_flush(self, held: list[int]) -> None:
        """At shutdown: record the outcomes known, hand back the claims not settled."""
        try:
            if self.results:
                self._write(self.results)
                self.results = []
            if held:
                with self.engine.begin() as conn:
                    outbox.unclaim(conn, held, pending_only=True)
        except Exception:
            log.warning("could not hand back webhook claims at shutdown; they lapse by themselves")


async def _drain(response: httpx.Response) -> None:
    """Read a short answer so the connection can be reused; give up on a long one."""
    read = 0
    async for chunk in response.aiter_raw():
        read += len(chunk)
        if read > MAX_BODY:
            break


def _describe(exc: httpx.HTTPError) -> str:
    # Never the URL: it carries the payload.
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {text}"[:300]
    return f"{type(exc).__name__}: {text}"[:300]
