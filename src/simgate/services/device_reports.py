"""What devices report, applied to the store: acks, send results, delivery
reports, received SMS, call events and qualifications.

A batch of frames (from any devices) is applied in one transaction, webhook
rows included (outbox), and each frame gets its answer: an `ack` with its ref,
an `error`, or nothing (command acks need no answer). Frames arrive here
already checked (`device/protocol.py`); a report about a message is taken only
from the device that holds that message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, assert_never

from sqlalchemy import Connection, Engine

from simgate.device import protocol
from simgate.domain import payloads
from simgate.domain.optout import MAX_KEYWORD_TEXT
from simgate.domain.policy import AccountPolicy
from simgate.services import dispatch, missed_call_reply, outbox, suppressions
from simgate.services.accounts import Account
from simgate.services.qualifications import record_qualification
from simgate.store import calls, devices, incoming, policies
from simgate.store import messages as store

# How far ahead of the server's clock a device's time may be before it is
# taken for a wrong clock (reports cannot come from the future).
CLOCK_SKEW = timedelta(minutes=5)

Frame = protocol.Ack | protocol.Report


@dataclass(frozen=True, slots=True)
class Reporter:
    device_id: int
    account: Account


@dataclass(slots=True)
class Outcome:
    reply: dict[str, Any] | None = None


@dataclass(slots=True)
class Held:
    """A message a frame names, as this batch sees it (updated as frames apply)."""

    id: int
    account_id: int
    state: str
    device_id: int | None
    attempts: int
    phone_number: str
    id_sms_api: str


def _when(at: datetime | None, now: datetime) -> datetime:
    return at if at is not None and at <= now + CLOCK_SKEW else now


class Batch:
    """One transaction's worth of frames.

    The messages the frames name are read with one query; the common changes
    (ack, sent, delivered) are written with one executemany each, and their
    status webhooks with one insert per account. Rare paths (failures) write
    at once, after flushing what is pending so that the order holds.
    """

    def __init__(
        self, conn: Connection, frames: list[Frame], account_ids: set[int], now: datetime
    ) -> None:
        self.conn = conn
        self.now = now
        ids = {f.message_id for f in frames if isinstance(f, _ABOUT_MESSAGES)}
        self.rows: dict[int, Held] = {}
        if ids:
            self.rows = {r[0]: Held(*r) for r in store.held(conn, ids, account_ids)}
        self.acks: list[tuple[int, datetime, datetime]] = []  # (id, at, lease end)
        self.sent: list[tuple[int, datetime]] = []
        self.delivered: list[tuple[int, datetime]] = []
        self.statuses: list[tuple[Held, str, datetime]] = []
        self.policies: dict[int, AccountPolicy] = {}  # read once per account and batch

    def policy_of(self, account_id: int) -> AccountPolicy:
        found = self.policies.get(account_id)
        if found is None:
            found = self.policies[account_id] = policies.get(self.conn, account_id)
        return found

    def held_by(self, reporter: Reporter, message_id: int) -> Held | None:
        """The message if the reporting device holds (or last held) it."""
        row = self.rows.get(message_id)
        if row is None or row.device_id != reporter.device_id:
            return None
        return row

    def flush(self) -> None:
        conn = self.conn
        if self.acks:
            store.mark_acked(conn, self.acks)
        if self.sent:
            store.mark_sent(conn, self.sent)
        if self.delivered:
            store.mark_delivered(conn, self.delivered)
        for status in ("sent", "received"):
            group = [(row, at) for row, s, at in self.statuses if s == status]
            if group:
                dispatch.queue_status(
                    conn, [r for r, _ in group], status, [at for _, at in group], now=self.now
                )
        self.acks, self.sent, self.delivered, self.statuses = [], [], [], []


def apply_batch(
    engine: Engine,
    batch: list[tuple[Reporter, Frame]],
    max_attempts: int,
    result_timeout: float,
    now: datetime,
) -> list[Outcome]:
    """Apply `batch` in one transaction at `now`; one outcome per frame, in order."""
    outcomes: list[Outcome] = []
    with engine.begin() as conn:
        work = Batch(conn, [f for _, f in batch], {r.account.id for r, _ in batch}, now)
        for reporter, frame in batch:
            outcomes.append(_apply(work, reporter, frame, max_attempts, result_timeout))
        work.flush()
    return outcomes


def _apply(
    work: Batch, reporter: Reporter, frame: Frame, max_attempts: int, result_timeout: float
) -> Outcome:
    """One frame; a report with no other answer is acknowledged by its ref."""
    match frame:
        case protocol.Ack():
            return _ack(work, reporter, frame, result_timeout)
        case protocol.Result():
            outcome = _result(work, reporter, frame, max_attempts)
        case protocol.Delivery():
            outcome = _delivery(work, reporter, frame)
        case protocol.SmsReceived():
            outcome = _sms_received(work, reporter, frame)
        case protocol.CallEvent():
            outcome = _call(work, reporter, frame)
        case protocol.Qualification():
            outcome = _qualification(work, reporter, frame)
        case _:
            assert_never(frame)
    if outcome.reply is None:
        outcome.reply = protocol.ack_report(frame.ref)
    return outcome


def _unknown(message_id: int, ref: str | None) -> Outcome:
    # Final for that report: the device drops it (docs/device-protocol.md).
    return Outcome(
        protocol.error("unknown_id", f"message {message_id} is not held by this device", ref)
    )


def _ack(work: Batch, reporter: Reporter, frame: protocol.Ack, result_timeout: float) -> Outcome:
    row = work.held_by(reporter, frame.message_id)
    if row is None:
        return _unknown(frame.message_id, None)
    if row.state == "dispatched" and frame.attempt == row.attempts:
        work.acks.append((row.id, work.now, work.now + timedelta(seconds=result_timeout)))
    return Outcome()  # a late or repeated ack changes nothing


def _result(work: Batch, reporter: Reporter, frame: protocol.Result, max_attempts: int) -> Outcome:
    row = work.held_by(reporter, frame.message_id)
    if row is None:
        return _unknown(frame.message_id, frame.ref)
    if row.state not in ("dispatched", "queued") or frame.attempt != row.attempts:
        return Outcome()  # already settled, or an earlier attempt: a repeat
    at = _when(frame.at, work.now)
    if frame.status == "sent":
        row.state = "sent"
        work.sent.append((row.id, at))
        work.statuses.append((row, "sent", at))
        return Outcome()
    work.flush()
    conn = work.conn
    reason = frame.reason or "the device could not send it"
    row.attempts += 1
    if row.attempts < max_attempts:
        row.state = "queued"
        store.requeue_for_retry(conn, row.id, row.attempts)
        store.add_event(conn, row.id, at, "retry", reporter.device_id, reason)
        return Outcome()  # its commit wakes the dispatcher (workers/dispatcher.py)
    row.state = "failed"
    store.set_attempts(conn, row.id, row.attempts)
    dispatch.fail_messages(conn, [row], reason, at, now=work.now)
    return Outcome()


def _delivery(work: Batch, reporter: Reporter, frame: protocol.Delivery) -> Outcome:
    row = work.held_by(reporter, frame.message_id)
    if row is None:
        return _unknown(frame.message_id, frame.ref)
    if row.state not in ("dispatched", "queued", "sent"):
        return Outcome()
    at = _when(frame.at, work.now)
    if frame.status == "delivered":
        row.state = "received"
        work.delivered.append((row.id, at))
        work.statuses.append((row, "received", at))
    else:
        work.flush()
        row.state = "failed"
        reason = frame.reason or "not delivered to the recipient"
        dispatch.fail_messages(work.conn, [row], reason, at, now=work.now)
    return Outcome()


def _first_time(conn: Connection, reporter: Reporter, ref: str, now: datetime) -> bool:
    """Record the report's ref; False when it was already stored (a re-send)."""
    return devices.record_ref(conn, reporter.device_id, ref, now)


def _sms_received(work: Batch, reporter: Reporter, frame: protocol.SmsReceived) -> Outcome:
    conn = work.conn
    if _first_time(conn, reporter, frame.ref, work.now):
        at = _when(frame.at, work.now)
        account = reporter.account
        incoming.insert_sms(conn, account.id, reporter.device_id, frame.sender, frame.text, at)
        # STOP / START change the opt-out list in this same transaction.
        if len(frame.text) <= MAX_KEYWORD_TEXT:
            policy = work.policy_of(account.id)
            suppressions.keyword_received(conn, account, frame.sender, frame.text, work.now, policy)
        outbox.enqueue(
            conn,
            account.id,
            "message",
            payloads.incoming_sms(account.email, frame.sender, frame.text, at),
            now=work.now,
        )
    return Outcome()


def _call(work: Batch, reporter: Reporter, frame: protocol.CallEvent) -> Outcome:
    conn = work.conn
    if _first_time(conn, reporter, frame.ref, work.now):
        at = _when(frame.at, work.now)
        account = reporter.account
        calls.insert_call(
            conn, account.id, reporter.device_id, frame.event, frame.number, at, frame.duration
        )
        outbox.enqueue(
            conn,
            account.id,
            "calls",
            payloads.call_event(
                account.email, frame.event, frame.number, at, frame.duration, account.tz
            ),
            now=work.now,
        )
        if frame.event == "missed_call":
            missed_call_reply.reply(conn, account, frame.number, at, work.now)
    return Outcome()


def _qualification(work: Batch, reporter: Reporter, frame: protocol.Qualification) -> Outcome:
    conn = work.conn
    if _first_time(conn, reporter, frame.ref, work.now):
        account = reporter.account
        call_id = calls.latest_call_id(conn, account.id, frame.number)
        at = _when(frame.at, work.now)
        record_qualification(
            conn, account, frame.number, frame.text, "mobile", work.now, call_id, at
        )
    return Outcome()


_ABOUT_MESSAGES = (protocol.Ack, protocol.Result, protocol.Delivery)
