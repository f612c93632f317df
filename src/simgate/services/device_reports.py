"""What devices report, applied to the store: acks, send results, delivery
reports, received SMS, call events and qualifications.

A batch of frames (from any devices) is applied in one transaction, webhook
rows included (outbox), and each frame gets its answer: an `ack` with its ref,
an `error`, or nothing (command acks need no answer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from simgate.device import protocol
from simgate.domain import payloads
from simgate.domain.dates import utcnow
from simgate.services import dispatch, outbox
from simgate.services.accounts import Account
from simgate.services.qualifications import record_qualification
from simgate.store.tables import calls, device_refs, incoming_sms, message_events, messages


@dataclass(frozen=True, slots=True)
class Reporter:
    device_id: int
    account: Account


@dataclass(slots=True)
class Outcome:
    reply: dict[str, Any] | None = None
    requeued: bool = False  # a failed send went back to the queue


def _when(frame: dict[str, Any], now: datetime) -> datetime:
    raw = frame.get("at")
    if not raw:
        return now
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return now
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


class Batch:
    """One transaction's worth of frames.

    The messages the frames name are read with one query; the common changes
    (ack, sent, delivered) are written with one executemany each, and their
    status webhooks with one insert per account. Rare paths (failures) write
    at once, after flushing what is pending so that the order holds.
    """

    def __init__(self, conn: Connection, frames: list[dict[str, Any]], account_ids: set[int]):
        self.conn = conn
        ids = {
            parsed[0]
            for frame in frames
            if "id" in frame and (parsed := protocol.parse_command_id(frame["id"]))
        }
        self.rows: dict[int, dict[str, Any]] = {}
        if ids:
            query = select(
                messages.c.id,
                messages.c.account_id,
                messages.c.state,
                messages.c.device_id,
                messages.c.attempts,
                messages.c.phone_number,
                messages.c.id_sms_api,
            ).where(messages.c.id.in_(ids), messages.c.account_id.in_(account_ids))
            self.rows = {r.id: dict(r._mapping) for r in conn.execute(query)}
        self.acks: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.delivered: list[dict[str, Any]] = []
        self.statuses: list[tuple[dict[str, Any], str, datetime]] = []

    def message(self, reporter: Reporter, frame: dict[str, Any]) -> tuple[Any, int] | None:
        parsed = protocol.parse_command_id(frame["id"])
        if parsed is None:
            return None
        row = self.rows.get(parsed[0])
        if row is None or row["account_id"] != reporter.account.id:
            return None
        return _Row(row), parsed[1]

    def flush(self) -> None:
        conn = self.conn
        by_id = messages.c.id == bindparam("mid")
        if self.acks:
            conn.execute(
                update(messages)
                .where(by_id)
                .values(acked_at=bindparam("at"), lease_until=bindparam("lease")),
                self.acks,
            )
        if self.sent:
            conn.execute(
                update(messages)
                .where(by_id)
                .values(
                    state="sent",
                    sent_at=bindparam("at"),
                    device_id=bindparam("device"),
                    lease_until=None,
                ),
                self.sent,
            )
        if self.delivered:
            conn.execute(
                update(messages)
                .where(by_id)
                .values(state="received", delivered_at=bindparam("at"), lease_until=None),
                self.delivered,
            )
        for status in ("sent", "received"):
            group = [(r, at) for r, s, at in self.statuses if s == status]
            if group:
                dispatch.queue_status(
                    conn, [_Row(r) for r, _ in group], status, [at for _, at in group]
                )
        self.acks, self.sent, self.delivered, self.statuses = [], [], [], []


class _Row:
    """Attribute access over a message dict shared with the batch."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name: str) -> Any:
        return self._data[name]

    def __setattr__(self, name: str, value: Any) -> None:
        self._data[name] = value


def apply_batch(
    engine: Engine,
    batch: list[tuple[Reporter, dict[str, Any]]],
    max_attempts: int,
    result_timeout: float,
) -> list[Outcome]:
    now = utcnow()
    outcomes: list[Outcome] = []
    with engine.begin() as conn:
        work = Batch(conn, [f for _, f in batch], {r.account.id for r, _ in batch})
        for reporter, frame in batch:
            handler = _HANDLERS[frame["type"]]
            outcome = handler(work, reporter, frame, now, max_attempts, result_timeout)
            if outcome.reply is None and frame["type"] in protocol.REPORTS:
                outcome.reply = protocol.ack_report(frame["ref"])
            outcomes.append(outcome)
        work.flush()
    return outcomes


def _unknown(frame: dict[str, Any]) -> Outcome:
    return Outcome(
        protocol.error(
            "unknown_id", f"no message {frame['id']!r} for this device", frame.get("ref")
        )
    )


def _ack(
    work: Batch,
    reporter: Reporter,
    frame: dict[str, Any],
    now: datetime,
    _max: int,
    result_timeout: float,
) -> Outcome:
    found = work.message(reporter, frame)
    if found is None:
        return _unknown(frame)
    row, attempt = found
    if (
        row.state == "dispatched"
        and row.device_id == reporter.device_id
        and attempt == row.attempts
    ):
        work.acks.append(
            {"mid": row.id, "at": now, "lease": now + timedelta(seconds=result_timeout)}
        )
    return Outcome()  # a late or repeated ack changes nothing


def _result(
    work: Batch,
    reporter: Reporter,
    frame: dict[str, Any],
    now: datetime,
    max_attempts: int,
    _timeout: float,
) -> Outcome:
    found = work.message(reporter, frame)
    if found is None:
        return _unknown(frame)
    row, attempt = found
    if row.state not in ("dispatched", "queued"):
        return Outcome()  # already settled: a repeat after a reconnect
    at = _when(frame, now)
    if frame["status"] == "sent":
        row.state = "sent"
        work.sent.append({"mid": row.id, "at": at, "device": reporter.device_id})
        work.statuses.append((row._data, "sent", at))
        return Outcome()
    if attempt != row.attempts:
        return Outcome()  # a repeated report of an earlier failed attempt
    work.flush()
    conn = work.conn
    reason = str(frame.get("reason") or "the device could not send it")[:500]
    row.attempts += 1
    if row.attempts < max_attempts:
        row.state = "queued"
        conn.execute(
            update(messages)
            .where(messages.c.id == row.id)
            .values(
                state="queued",
                device_id=None,
                lease_until=None,
                acked_at=None,
                attempts=row.attempts,
            )
        )
        conn.execute(
            insert(message_events).values(
                message_id=row.id,
                at=at,
                state="retry",
                device_id=reporter.device_id,
                detail=reason,
            )
        )
        return Outcome(requeued=True)
    row.state = "failed"
    conn.execute(update(messages).where(messages.c.id == row.id).values(attempts=row.attempts))
    dispatch.fail_messages(conn, [row], reason, at)
    return Outcome()


def _delivery(
    work: Batch,
    reporter: Reporter,
    frame: dict[str, Any],
    now: datetime,
    _max: int,
    _timeout: float,
) -> Outcome:
    found = work.message(reporter, frame)
    if found is None:
        return _unknown(frame)
    row = found[0]
    if row.state not in ("dispatched", "queued", "sent"):
        return Outcome()
    at = _when(frame, now)
    if frame["status"] == "delivered":
        row.state = "received"
        work.delivered.append({"mid": row.id, "at": at})
        work.statuses.append((row._data, "received", at))
    else:
        work.flush()
        row.state = "failed"
        reason = str(frame.get("reason") or "not delivered to the recipient")[:500]
        dispatch.fail_messages(work.conn, [row], reason, at)
    return Outcome()


def _first_time(conn: Connection, reporter: Reporter, ref: str, now: datetime) -> bool:
    """Record the report's ref; False when it was already stored (a re-send)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(device_refs).on_conflict_do_nothing(index_elements=["device_id", "ref"])
    result = conn.execute(
        stmt.values(device_id=reporter.device_id, ref=ref, created_at=now).returning(
            device_refs.c.id
        )
    )
    return result.first() is not None


def _sms_received(
    work: Batch,
    reporter: Reporter,
    frame: dict[str, Any],
    now: datetime,
    _max: int,
    _timeout: float,
) -> Outcome:
    conn = work.conn
    if _first_time(conn, reporter, frame["ref"], now):
        at = _when(frame, now)
        account = reporter.account
        conn.execute(
            insert(incoming_sms).values(
                account_id=account.id,
                device_id=reporter.device_id,
                from_number=frame["from"],
                text=frame["text"],
                received_at=at,
            )
        )
        outbox.enqueue(
            conn,
            account.id,
            "message",
            payloads.incoming_sms(account.email, frame["from"], frame["text"], at),
        )
    return Outcome()


def _call(
    work: Batch,
    reporter: Reporter,
    frame: dict[str, Any],
    now: datetime,
    _max: int,
    _timeout: float,
) -> Outcome:
    conn = work.conn
    if _first_time(conn, reporter, frame["ref"], now):
        at = _when(frame, now)
        account = reporter.account
        duration = frame.get("duration") or "0"
        conn.execute(
            insert(calls).values(
                account_id=account.id,
                device_id=reporter.device_id,
                kind=frame["event"],
                phone_number=frame["number"],
                call_time=at,
                duration=duration,
            )
        )
        outbox.enqueue(
            conn,
            account.id,
            "calls",
            payloads.call_event(
                account.email, frame["event"], frame["number"], at, duration, account.tz
            ),
        )
    return Outcome()


def _qualification(
    work: Batch,
    reporter: Reporter,
    frame: dict[str, Any],
    now: datetime,
    _max: int,
    _timeout: float,
) -> Outcome:
    conn = work.conn
    if _first_time(conn, reporter, frame["ref"], now):
        account = reporter.account
        call_id = conn.execute(
            select(calls.c.id)
            .where(calls.c.account_id == account.id, calls.c.phone_number == frame["number"])
            .order_by(calls.c.call_time.desc())
            .limit(1)
        ).scalar()
        record_qualification(
            conn, account, frame["number"], frame["text"], "mobile", call_id, _when(frame, now)
        )
    return Outcome()


Handler = Callable[[Batch, Reporter, dict[str, Any], datetime, int, float], Outcome]

_HANDLERS: dict[str, Handler] = {
    "ack": _ack,
    "result": _result,
    "delivery": _delivery,
    "sms_received": _sms_received,
    "call": _call,
    "qualification": _qualification,
}
