"""The `termux` driver: the agent runs on the phone itself, inside Termux, and
uses the Termux:API commands (reference/termux-api.md, "§" below).

- Commands: termux_api.py runs them (with timeouts) and reads their output.
- Sending: `termux-sms-send` hands the SMS to Android and reports nothing, not
  even a failure (§2). Android writes what non-default SMS apps send into its
  Sent box (type `sent`, or `failed`), so the driver looks there with
  `termux-sms-list` for a row with the same number and text that appeared
  after the hand-over: `sent` is reported sent, `failed` failed. A phone that
  does not write the row leaves the SMS unconfirmed: after `confirm` seconds
  it is reported sent, the best this phone can say. Delivery reports do not
  exist through Termux:API: the capabilities say so, and messages stay `sent`.
- Never twice: every hand-over is written down first (`termux.sends`). Asked
  again after a restart, the driver repeats what it knows; an SMS whose
  hand-over was interrupted is looked for in the Sent box and otherwise left
  unreported (the server fails it after its result timeout) rather than risk
  a second SMS.
- Incoming SMS are the Sent box's neighbours: rows of type `inbox` above a
  cursor (the provider's `_id`, §3). Calls come from `termux-call-log`, which
  has no ids (§4): its rows are told apart by their content, and read again a
  few hours back, because a call is logged when it ends, with the time it
  began. Both cursors move once the agent has journaled the event
  (`_events.py`), and start at the present on the first run.
- Dial: `termux-telephony-call` (§5); the call then shows in the call log.
- SIM: the agent's `sim_slot` is 1-based, `-s` takes the 0-based slot (§2).
- A wake lock (`termux-wake-lock`, §7) is held while the agent runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import partial
from pathlib import Path
from typing import Any

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
from simgate.device.drivers._events import EventQueue
from simgate.device.drivers._state import JsonState, Ledger, remember
from simgate.device.drivers.termux_api import (
    CALL_KINDS,
    CommandError,
    call_duration,
    call_key,
    local_time,
    row_id,
    run_command,
    same_number,
)

log = logging.getLogger(__name__)

SMS_PAGE = 50
CALL_PAGE = 50
MAX_PAGES = 20
CALL_WINDOW = 6 * 3600.0  # seconds of call log read again: a call is logged when it ends
SENT_BOX_SLACK = 120.0  # seconds before a hand-over a Sent-box row may carry


@dataclass(frozen=True, slots=True)
class TermuxOptions:
    sim: int | None = None  # 1-based SIM for every SMS; None: Android's default
    poll: float = 5.0  # seconds between looks at the SMS provider and call log (§7)
    timeout: float = 20.0  # per command (§1)
    confirm: float = 60.0  # seconds a handed-over SMS waits for the Sent box
    wake_lock: bool = True


@dataclass
class Pending:
    """An SMS handed over (or perhaps handed over), waiting for the Sent box."""

    command_id: str
    to: str
    text: str
    after: int | None  # the newest provider row before the hand-over
    at: float  # wall time of the hand-over
    handed: bool  # False: interrupted, perhaps never handed over
    deadline: float = 0.0  # loop time


@dataclass
class TermuxPhone:
    options: TermuxOptions
    folder: Path
    zone: tzinfo | None = None  # None: this process's local zone
    name: str = field(default="termux", init=False)

    def __post_init__(self) -> None:
        self._queue = EventQueue()
        self._slots = asyncio.Semaphore(2)  # few processes at once (§7, phantom killer)
        self._send_lock = asyncio.Lock()
        self._sim_count: int | None = None
        self._newest_row: int | None = None
        self._pending: dict[str, Pending] = {}
        self._claimed: set[int] = set()  # Sent-box rows matched to a send
        self._warned: set[str] = set()
        self._sends = Ledger(self.folder / "termux.sends")
        self._known: dict[str, dict[str, Any]] = {}
        for entry in self._sends.entries:
            for key in ("tried", "handed", "result"):
                if key in entry:
                    self._known.setdefault(entry[key], {}).update(entry, **{key: True})
        self._cursors = JsonState(self.folder / "termux.json")
        saved = self._cursors.load()
        self._sms_cursor: int | None = saved.get("sms_cursor")
        calls = saved.get("calls") or {}
        # Whole seconds, as the call log writes its times (§4).
        self._calls_since = float(calls.get("since") or int(time.time()))
        self._calls_seen: dict[str, float] = dict(calls.get("seen") or {})
        self._queued: set[str] = set()  # events waiting for the agent (inbox ids, call keys)
        self._save_cursors()

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            delivery_reports=False,  # Termux:API cannot see them (§2)
            incoming_sms=True,
            call_events=True,
            dial=True,
            sim_slots=self._sim_count or 1,
        )

    # --- the Driver protocol ----------------------------------------------------------

    async def send_sms(
        self,
        command_id: str,
        to: str,
        text: str,
        sim_slot: int | None = None,
        *,
        valid_until: datetime | None = None,
    ) -> None:
        if command_id in self._known:
            self._resume(command_id, self._known[command_id])
            return
        # termux-sms-send takes no validity (reference/termux-api.md): a stale
        # SMS is refused here instead.
        if lapsed(valid_until):
            raise NotSent(LAPSED)
        slot = sim_slot or self.options.sim
        if slot is not None and self._sim_count is not None and slot > self._sim_count:
            # termux-sms-send with a wrong -s sends nothing and says nothing (§2).
            raise NotSent(f"SIM {slot} is not in this phone (it has {self._sim_count})")
        body = text.strip()  # Termux:API trims what it reads (§1); the Sent box shows this
        if not body:
            raise NotSent("the text is only blank space, which Termux:API removes")
        async with self._send_lock:  # one at a time, in the order the server handed them
            record = {
                "tried": command_id,
                "to": to,
                "text": body,
                "after": self._newest_row,
                "at": time.time(),
            }
            self._sends.write(record)
            self._known[command_id] = dict(record, tried=True)
            argv = ["termux-sms-send", "-n", to]
            if slot is not None:
                argv += ["-s", str(slot - 1)]
            try:
                await self._run(*argv, stdin=text)
            except CommandError as exc:
                if exc.certain:
                    self._record_result(command_id, "failed", exc.reason)
                    raise NotSent(exc.reason) from None
                log.error("SMS %s: %s; looking for it in the Sent box", command_id, exc.reason)
                self._wait_for_sent_box(command_id, handed=False)
                return
            self._sends.write({"handed": command_id})
            self._known[command_id]["handed"] = True
            self._wait_for_sent_box(command_id, handed=True)

    async def dial(self, command_id: str, to: str) -> None:
        try:
            await self._run("termux-telephony-call", to)
        except CommandError as exc:
            raise RuntimeError(f"could not dial: {exc.reason}") from None

    async def events(self) -> AsyncIterator[DriverEvent]:
        """The events; the wake lock is held and the phone watched while they are read."""
        if self.options.wake_lock:
            await self._try("termux-wake-lock")
        loops = [asyncio.create_task(self._learn_phone()), asyncio.create_task(self._watch())]
        try:
            async for event in self._queue.stream():
                yield event
        finally:
            for task in loops:
                task.cancel()

    async def aclose(self) -> None:
        if self.options.wake_lock:
            await self._try("termux-wake-unlock")
        self._sends.close()

    # --- commands ---------------------------------------------------------------------

    async def _run(self, *argv: str, stdin: str | None = None) -> Any:
        """Run one command; its JSON output (None if it printed nothing)."""
        async with self._slots:
            # In a thread, so that a caller cancelled meanwhile leaves no child
            # behind: the thread always waits for the command, or kills it.
            return await asyncio.to_thread(run_command, argv, stdin, self.options.timeout)

    async def _try(self, *argv: str) -> Any:
        """Run a command whose failure is only worth a warning."""
        try:
            return await self._run(*argv)
        except CommandError as exc:
            self._warn_once(exc.reason)
            return None

    def _warn_once(self, reason: str) -> None:
        if reason not in self._warned:
            self._warned.add(reason)
            log.warning("%s", reason)

    async def _learn_phone(self) -> None:
        info = await self._try("termux-telephony-deviceinfo")
        if isinstance(info, dict) and isinstance(info.get("phone_count"), int):
            self._sim_count = max(1, info["phone_count"])
            log.info(
                "the phone has %s SIM slot(s); SIM state %s", self._sim_count, info.get("sim_state")
            )
            if self.options.sim is not None and self.options.sim > self._sim_count:
                log.error(
                    "SIM %s is not in this phone (it has %s)", self.options.sim, self._sim_count
                )

    # --- sends and the Sent box -------------------------------------------------------

    def _record_result(self, command_id: str, status: str, reason: str = "") -> float:
        at = time.time()
        self._sends.write({"result": command_id, "status": status, "reason": reason, "at": at})
        self._known.setdefault(command_id, {}).update(
            result=True, status=status, reason=reason, at=at
        )
        return at

    def _resume(self, command_id: str, known: dict[str, Any]) -> None:
        """Asked again after a restart: repeat what is known, send nothing."""
        if known.get("result"):
            at = datetime.fromtimestamp(known["at"], UTC)
            if known["status"] == "sent":
                self._queue.put(Sent(command_id, at))
            else:
                self._queue.put(Failed(command_id, known.get("reason") or "not sent", at))
        elif command_id not in self._pending:
            self._wait_for_sent_box(command_id, handed=bool(known.get("handed")))

    def _wait_for_sent_box(self, command_id: str, handed: bool) -> None:
        known = self._known[command_id]
        self._pending[command_id] = Pending(
            command_id,
            known["to"],
            known["text"],
            known.get("after"),
            known["at"],
            handed,
            asyncio.get_running_loop().time() + self.options.confirm,
        )

    def _settle(self, rows: list[dict[str, Any]]) -> None:
        """Match waiting sends to Sent-box rows; settle those whose time is up."""
        outgoing = sorted(
            (r for r in rows if r.get("type") in ("sent", "failed") and row_id(r) is not None),
            key=lambda r: row_id(r) or 0,
        )
        now = asyncio.get_running_loop().time()
        for pending in list(self._pending.values()):
            row = next((r for r in outgoing if self._matches(pending, r)), None)
            if row is not None:
                self._claimed.add(row_id(row) or 0)
                del self._pending[pending.command_id]
                at = local_time(row.get("received"), self.zone) or datetime.now(UTC)
                if row["type"] == "sent":
                    self._record_result(pending.command_id, "sent")
                    self._queue.put(Sent(pending.command_id, at))
                else:
                    reason = "Android could not send it (the phone's SMS app marks it failed)"
                    self._record_result(pending.command_id, "failed", reason)
                    self._queue.put(Failed(pending.command_id, reason, at))
            elif now > pending.deadline:
                del self._pending[pending.command_id]
                if pending.handed:  # handed over; this phone does not say more
                    self._record_result(pending.command_id, "sent")
                    self._queue.put(
                        Sent(pending.command_id, datetime.fromtimestamp(pending.at, UTC))
                    )
                else:
                    log.warning(
                        "SMS %s: its hand-over was interrupted and the Sent box does not show "
                        "it; left unreported (the server fails it after its result timeout)",
                        pending.command_id,
                    )

    def _matches(self, pending: Pending, row: dict[str, Any]) -> bool:
        number = row.get("address") or row.get("number") or ""
        identity = row_id(row) or 0
        if identity in self._claimed or not isinstance(number, str):
            return False
        if pending.after is not None and identity <= pending.after:
            return False
        written = local_time(row.get("received"), self.zone)
        if written is not None and written.timestamp() < pending.at - SENT_BOX_SLACK:
            return False
        return row.get("body") == pending.text and same_number(number, pending.to)

    # --- watching the provider and the call log ---------------------------------------

    async def _watch(self) -> None:
        while True:
            try:
                rows = await self._read_sms()
                self._settle(rows)
                self._report_inbox(rows)
            except CommandError as exc:
                self._warn_once(f"reading SMS: {exc.reason}")
            try:
                await self._read_calls()
            except CommandError as exc:
                self._warn_once(f"reading the call log: {exc.reason}")
            await asyncio.sleep(self.options.poll)

    async def _read_sms(self) -> list[dict[str, Any]]:
        """Rows of every type above the lowest id anything waits on, newest pages
        first. Rows are ordered by date (§3), ids nearly so: page on while a page
        still holds rows above the floor."""
        floors = [p.after for p in self._pending.values() if p.after is not None]
        if self._sms_cursor is not None:
            floors.append(self._sms_cursor)
        floor = min(floors) if floors else None
        rows: list[dict[str, Any]] = []
        for page in range(MAX_PAGES if floor is not None else 1):
            batch = await self._run(
                "termux-sms-list", "-t", "all", "-l", str(SMS_PAGE), "-o", str(page * SMS_PAGE)
            )
            batch = [r for r in batch or [] if isinstance(r, dict) and row_id(r) is not None]
            rows.extend(batch)
            if len(batch) < SMS_PAGE or all((row_id(r) or 0) <= (floor or 0) for r in batch):
                break
        newest = max((row_id(r) or 0 for r in rows), default=0)
        self._newest_row = max(self._newest_row or 0, newest)
        if self._sms_cursor is None:  # the first run starts at the present
            self._sms_cursor = newest
            self._save_cursors()
            return [r for r in rows if (row_id(r) or 0) > newest]
        return rows

    def _report_inbox(self, rows: list[dict[str, Any]]) -> None:
        cursor = self._sms_cursor or 0
        fresh = sorted(
            (r for r in rows if r.get("type") == "inbox" and (row_id(r) or 0) > cursor),
            key=lambda r: row_id(r) or 0,
        )
        for row in fresh:
            key = f"sms:{row_id(row)}"
            if key in self._queued:
                continue
            self._queued.add(key)
            sender = row.get("address") or row.get("number") or ""
            at = local_time(row.get("received"), self.zone) or datetime.now(UTC)
            sms = IncomingSms(str(sender), str(row.get("body") or ""), at)
            self._queue.put(sms, partial(self._sms_taken, key, row_id(row) or 0))

    def _sms_taken(self, key: str, identity: int) -> None:
        self._queued.discard(key)
        self._sms_cursor = max(self._sms_cursor or 0, identity)
        self._save_cursors()

    async def _read_calls(self) -> None:
        newest = max(self._calls_seen.values(), default=self._calls_since)
        horizon = max(self._calls_since, newest - CALL_WINDOW)
        rows: list[tuple[float, str, dict[str, Any]]] = []
        for page in range(MAX_PAGES):
            batch = await self._run(
                "termux-call-log", "-l", str(CALL_PAGE), "-o", str(page * CALL_PAGE)
            )
            batch = [r for r in batch or [] if isinstance(r, dict)]
            timed = [(local_time(r.get("date"), self.zone), r) for r in batch]
            rows.extend((t.timestamp(), call_key(r), r) for t, r in timed if t is not None)
            if len(batch) < CALL_PAGE or all(
                t is None or t.timestamp() < horizon for t, _ in timed
            ):
                break
        for at, key, row in sorted(rows, key=lambda item: item[0]):
            if at < horizon or key in self._calls_seen or key in self._queued:
                continue
            kind = CALL_KINDS.get(str(row.get("type")))
            if kind is None:
                self._call_taken(key, at)
                continue
            self._queued.add(key)
            event = CallEvent(
                kind,
                str(row.get("phone_number") or ""),
                call_duration(row.get("duration")),
                datetime.fromtimestamp(at, UTC),
            )
            self._queue.put(event, partial(self._call_taken, key, at))

    def _call_taken(self, key: str, at: float) -> None:
        self._queued.discard(key)
        self._calls_seen = remember(self._calls_seen, key, at, 2 * CALL_WINDOW)
        self._save_cursors()

    def _save_cursors(self) -> None:
        self._cursors.save(
            {
                "sms_cursor": self._sms_cursor,
                "calls": {"since": self._calls_since, "seen": self._calls_seen},
            }
        )


def from_options(folder: Path, options: Mapping[str, Any]) -> TermuxPhone:
    """The driver that `simgate device run --driver termux --termux-...` asks for."""
    return TermuxPhone(
        TermuxOptions(
            sim=options["termux_sim"],
            poll=options["termux_poll"],
            timeout=options["termux_timeout"],
            confirm=options["termux_confirm"],
            wake_lock=options["termux_wake_lock"],
        ),
        folder,
    )
