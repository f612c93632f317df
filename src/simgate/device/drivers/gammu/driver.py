"""The `gammu` driver: a USB GSM modem or phone through libGammu.

One asyncio task owns the modem. It opens it (and again, with back-off,
whenever it goes away), then by turns deletes what may be deleted, dials,
polls the modem's memory for SMS and delivery reports, and sends the next SMS
of its queue, each libGammu call in one worker thread so that the event loop
never blocks and the serial line sees one command at a time
(shared/reference/gammu.md section 6).

Promises to the agent (device/drivers):
- idempotent per command id: the sent box (sends.py) records a command before
  its first part goes out and every part the modem accepts, so after a
  restart it is never sent again; one that may have left (no answer from the
  modem) is not reported at all and the server fails it after its result
  timeout rather than risk sending it twice;
- SMS that wait for an absent modem are sent when it comes back, or reported
  failed after `give_up_after` seconds so that the server may retry them;
- an incoming SMS is deleted from the modem only once the server has stored
  it (`report_settled`); delivery reports once the sent box holds them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from simgate.device.drivers import (
    LAPSED,
    CallEvent,
    Capabilities,
    DriverEvent,
    Failed,
    IncomingSms,
    NotSent,
    Sent,
    lapsed,
)
from simgate.device.drivers.gammu import inbox
from simgate.device.drivers.gammu.modem import (
    MaybeSent,
    Modem,
    ModemConfig,
    ModemGone,
    Refused,
    encode,
)
from simgate.device.drivers.gammu.sends import Send, SendBook

log = logging.getLogger(__name__)

T = TypeVar("T")

RING_GAP = 10.0  # seconds between two rings of the same call (RING repeats every few)
DIAL_TOO_LATE = 60.0  # a click-to-call not placed by then is dropped


@dataclass(frozen=True)
class GammuOptions:
    poll_interval: float = 5.0  # seconds between two reads of the modem's memory
    delivery_reports: bool = True  # ask the network for them (TP-SRR)
    calls: bool = True  # report incoming calls and dial (off for data-only sticks)
    smsc: str | None = None  # None: the SMSC stored on the SIM
    give_up_after: float = 300.0  # below the server's result timeout (600 s by default)
    incomplete_wait: float = 600.0  # a long SMS with parts still missing: report what came
    reconnect_max: float = 10.0  # longest wait between two attempts to open the modem


@dataclass
class _Job:
    """One SMS waiting for the modem."""

    command_id: str
    to: str
    text: str
    since: float  # monotonic
    parts: list[dict[str, Any]] | None = None  # encoded once: a resumed SMS keeps its UDH id
    next_part: int = 0


@dataclass
class _Inbox:
    """Incoming SMS between their report and the server's answer."""

    waiting: dict[str, inbox.Received] = field(default_factory=dict)  # reported, not settled
    settled: set[str] = field(default_factory=set)  # settled before this run read them
    first_seen: dict[str, float] = field(default_factory=dict)  # incomplete long SMS


class GammuDriver:
    name = "gammu"

    def __init__(
        self,
        modem: ModemConfig,
        folder: Path,
        options: GammuOptions | None = None,
        fsync: bool = True,
    ) -> None:
        self.options = options or GammuOptions()
        self.capabilities = Capabilities(
            delivery_reports=self.options.delivery_reports,
            incoming_sms=True,
            call_events=self.options.calls,
            dial=self.options.calls,
        )
        self.connected = asyncio.Event()  # the modem is open (tests and logs)
        self._modem = Modem(modem)
        self._book = SendBook(folder, fsync)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="gammu")
        self._events: asyncio.Queue[DriverEvent] = asyncio.Queue()
        self._sends: deque[_Job] = deque()
        self._dials: deque[tuple[str, float]] = deque()
        self._deletions: deque[int] = deque()
        self._inbox = _Inbox()
        self._ringing: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._current: _Job | None = None  # the SMS going to the modem now

    # --- the Driver protocol ----------------------------------------------------

    async def send_sms(
        self,
        command_id: str,
        to: str,
        text: str,
        sim_slot: int | None = None,
        *,
        valid_until: datetime | None = None,
    ) -> None:
        self._start()
        if any(job.command_id == command_id for job in self._sends):
            return  # already waiting for the modem
        send = self._book.get(command_id)
        if send is not None:
            self._tell_again(send)
            return
        # The modem's SMS dict has no validity field (reference/gammu.md): a
        # stale SMS is refused here instead.
        if lapsed(valid_until):
            raise NotSent(LAPSED)
        if sim_slot not in (None, 1):
            raise NotSent(f"a modem has one SIM; SIM {sim_slot} was asked")
        self._sends.append(_Job(command_id, to, text, time.monotonic()))
        self._wake.set()

    async def dial(self, command_id: str, to: str) -> None:
        self._start()
        self._dials.append((to, time.monotonic()))
        self._wake.set()

    async def events(self) -> AsyncIterator[DriverEvent]:
        self._start()
        while True:
            yield await self._events.get()

    def report_settled(self, ref: str, stored: bool) -> None:
        """The server answered the report `ref`: an incoming SMS may go."""
        received = self._inbox.waiting.pop(ref, None)
        if received is None:
            if ref.startswith("g-"):
                self._inbox.settled.add(ref)  # reported by the previous run
            return
        if not stored:
            log.warning(
                "the server refused the SMS from %s; deleting it from the modem", received.sender
            )
        self._deletions.extend(received.locations)
        self._wake.set()

    def close(self) -> None:
        """Stop; the worker thread closes the modem after its current call."""
        for task in (self._task, self._watchdog):
            if task is not None:
                task.cancel()
        self._executor.submit(self._modem.close)
        self._executor.shutdown(wait=False)
        self._book.close()

    def wait_closed(self) -> None:
        """Block until the modem is closed (after `close`)."""
        self._executor.shutdown(wait=True)

    # --- what the sent box already knows ------------------------------------------

    def _tell_again(self, send: Send) -> None:
        """Asked again (after a restart) about an SMS taken before."""
        if send.refused is not None:
            raise NotSent(send.refused)
        if send.sent_at is None:
            log.warning(
                "SMS %s may have left before the agent stopped (the modem never said): "
                "not sent again, not reported",
                send.command_id,
            )
            return
        self._emit(Sent(send.command_id, send.sent_at))
        delivery = send.delivery()
        if delivery is not None and self.capabilities.delivery_reports:
            self._emit(delivery)

    # --- the modem's owner ----------------------------------------------------

    def _start(self) -> None:
        if self._task is None:
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(self._run())
            self._watchdog = loop.create_task(self._give_up_in_time())

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                await self._call(self._modem.connect, self.options.calls)
            except Exception as exc:  # ModemGone, or a setting libGammu refuses
                if delay == 0.5:
                    log.warning("cannot open the modem: %s; trying again", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.options.reconnect_max)
                continue
            log.info("modem open")
            delay = 0.5
            self.connected.set()
            try:
                await self._serve()
            except ModemGone as exc:
                log.warning("lost the modem: %s", exc)
            self.connected.clear()
            await self._call(self._modem.close)

    async def _serve(self) -> None:
        next_poll = 0.0
        while True:
            try:
                if self._deletions:
                    await self._delete_next()
                elif self._dials:
                    await self._dial_next()
                elif time.monotonic() >= next_poll:
                    try:
                        await self._poll()
                    finally:
                        # Counted from the end: a slow read still leaves sends a turn.
                        next_poll = time.monotonic() + self.options.poll_interval
                elif self._sends:
                    await self._send_next()
                else:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), next_poll - time.monotonic())
            except ModemGone:
                raise
            except Exception:
                # One odd answer (a message libGammu cannot parse, a command
                # this modem lacks) must not stop the modem's owner.
                log.exception("gammu driver: unexpected error; going on")
                await asyncio.sleep(self.options.poll_interval)

    async def _call(self, job: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, job, *args)
        finally:
            for call in self._modem.take_calls():
                self._on_call(call)

    def _emit(self, event: DriverEvent) -> None:
        self._events.put_nowait(event)

    # --- sending ----------------------------------------------------------------

    async def _send_next(self) -> None:
        job = self._current = self._sends[0]
        try:
            await self._send(job)
        finally:
            self._current = None

    async def _send(self, job: _Job) -> None:
        if job.parts is None:
            try:
                job.parts = await self._call(
                    encode, job.text, job.to, self.options.smsc, self.options.delivery_reports
                )
            except Refused as exc:
                self._finish_refused(job, f"cannot encode this SMS: {exc}")
                return
        if job.next_part == 0:
            self._book.take(job.command_id, job.to, len(job.parts), _now())
        while job.next_part < len(job.parts):
            try:
                reference = await self._call(self._modem.send, job.parts[job.next_part])
            except Refused as exc:
                self._finish_refused(job, self._refusal(job, str(exc)))
                return
            except MaybeSent as exc:
                self._sends.popleft()
                log.error(
                    "SMS %s: no answer from the modem after it took the SMS (%s); it may "
                    "have been sent, so it is neither sent again nor reported",
                    job.command_id,
                    exc,
                )
                raise ModemGone(str(exc)) from exc
            except ModemGone:
                if job.next_part == 0:
                    self._book.release(job.command_id)  # it stays first in the queue
                raise
            except Exception:
                self._sends.popleft()
                log.exception("SMS %s: unexpected error; not reported", job.command_id)
                return
            self._book.part_sent(job.command_id, reference, _now())
            job.next_part += 1
        self._sends.popleft()
        at = _now()
        self._book.sent(job.command_id, at)
        self._emit(Sent(job.command_id, at))

    def _refusal(self, job: _Job, why: str) -> str:
        total = len(job.parts or ())
        if total <= 1:
            return f"the modem refused it: {why}"
        done = job.next_part
        return f"the modem refused part {done + 1} of {total} ({why}); {done} part(s) went out"

    def _finish_refused(self, job: _Job, reason: str) -> None:
        self._sends.remove(job)
        at = _now()
        self._book.refused(job.command_id, job.to, reason, at)
        self._emit(Failed(job.command_id, reason, at))

    async def _give_up_in_time(self) -> None:
        """Apart from the modem's owner, which may wait long on one call (a
        modem that stopped answering takes 20 s a command)."""
        every = min(1.0, self.options.give_up_after / 4)
        while True:
            await asyncio.sleep(every)
            self._give_up_on_old_sends()

    def _give_up_on_old_sends(self) -> None:
        limit = time.monotonic() - self.options.give_up_after
        late = [job for job in self._sends if job.since < limit and job is not self._current]
        for job in late:
            waited = f"not sent within {self.options.give_up_after:.0f} s"
            why = "the modem was unreachable or busy"
            if job.next_part:
                why += f"; {job.next_part} of {len(job.parts or ())} parts went out"
            self._finish_refused(job, f"{waited}: {why}")

    # --- reading the modem's memory --------------------------------------------

    async def _poll(self) -> None:
        stored = await self._call(self._modem.read_all)
        received, reports = inbox.read(stored)
        self._take_received(received)
        for report in reports:
            self._take_report(report)

    def _take_received(self, received: list[inbox.Received]) -> None:
        now = time.monotonic()
        seen_incomplete: dict[str, float] = {}
        for sms in received:
            if sms.ref in self._inbox.settled:
                self._inbox.settled.discard(sms.ref)
                self._deletions.extend(sms.locations)
                continue
            if sms.ref in self._inbox.waiting:
                continue
            if not sms.complete:
                first = seen_incomplete[sms.ref] = self._inbox.first_seen.get(sms.ref, now)
                if now - first < self.options.incomplete_wait:
                    continue
                log.warning(
                    "SMS from %s: parts still missing after %.0f s; reporting what came",
                    sms.sender,
                    self.options.incomplete_wait,
                )
            self._inbox.waiting[sms.ref] = sms
            self._emit(IncomingSms(sms.sender, sms.text, sms.at, ref=sms.ref))
        self._inbox.first_seen = seen_incomplete

    def _take_report(self, report: inbox.StatusReport) -> None:
        found = self._book.match(report)
        if found is None:
            log.info(
                "delivery report (reference %d, to %s) about no SMS of this agent; deleted",
                report.reference,
                report.recipient,
            )
        elif report.outcome != "pending":
            send, index = found
            before = send.delivery()
            self._book.record_report(send, index, report)  # held on disk: the modem may forget
            after = send.delivery()
            if before is None and after is not None and self.capabilities.delivery_reports:
                self._emit(after)
        self._deletions.append(report.location)

    async def _delete_next(self) -> None:
        location = self._deletions[0]
        try:
            await self._call(self._modem.delete, location)
        except ModemGone:
            raise  # kept: deleted once the modem is back
        except Exception:
            self._deletions.popleft()  # not tried forever; the next poll sees it again
            raise
        self._deletions.popleft()

    # --- calls ----------------------------------------------------------------

    async def _dial_next(self) -> None:
        to, since = self._dials.popleft()
        if time.monotonic() - since > DIAL_TOO_LATE:
            log.warning("call to %s dropped: the modem was not there in time", to)
            return
        try:
            await self._call(self._modem.dial, to)
        except Refused as exc:
            log.warning("the modem would not call %s: %s", to, exc)
            return
        # Gammu says the call started, not when it ends: no duration (section 5).
        self._emit(CallEvent("outgoing_call", to, "0", _now()))

    def _on_call(self, call: dict[str, Any]) -> None:
        """An incoming call rings once per RING: one event per call."""
        number = str(call.get("Number") or "")
        if call.get("Status") != "IncomingCall" or not number or not self.options.calls:
            return
        now = time.monotonic()
        last = self._ringing.get(number)
        self._ringing = {n: t for n, t in self._ringing.items() if now - t < RING_GAP}
        self._ringing[number] = now
        if last is None or now - last >= RING_GAP:
            self._emit(CallEvent("incoming_call", number, "0", _now()))


def _now() -> datetime:
    return datetime.now(UTC)
