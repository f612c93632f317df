"""What devices report, applied to the store: acks, send results, delivery
reports, received SMS, call events and qualifications.

A batch of frames (from any devices) is applied in one transaction, webhook
rows included (outbox), and each frame gets its answer: an `ack` with its ref,
an `error`, or nothing (command acks need no answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
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


def apply_batch(
    engine: Engine,
    batch: list[tuple[Reporter, dict[str, Any]]],
    max_attempts: int,
    result_timeout: float,
) -> list[Outcome]:
    now = utcnow()
    outcomes: list[Outcome] = []
    with engine.begin() as conn:
        for reporter, frame in batch:
            handler = _HANDLERS[frame["type"]]
            outcome = handler(conn, reporter, frame, now, max_attempts, result_timeout)
            if outcome.reply is None and frame["type"] in protocol.REPORTS:
                outcome.reply = protocol.ack_report(frame["ref"])
            outcomes.append(outcome)
    return outcomes


def _message(conn: Connection, reporter: Reporter, frame: dict[str, Any]) -> Any:
    parsed = protocol.parse_command_id(frame["id"])
    if parsed is None:
        return None
    row = conn.execute(
        select(
            messages.c.id,
            messages.c.account_id,
            messages.c.state,
            messages.c.device_id,
            messages.c.attempts,
            messages.c.phone_number,
            messages.c.id_sms_api,
        ).where(messages.c.id == parsed[0], messages.c.account_id == reporter.account.id)
    ).first()
    if row is None:
        return None
    return row, parsed[1]


def _unknown(frame: dict[str, Any]) -> Outcome:
    return Outcome(
        protocol.error(
            "unknown_id", f"no message {frame['id']!r} for this device", frame.get("ref")
        )
    )


def _ack(
    conn: Connection,
    reporter: Reporter,
    frame: dict[str, Any],
    now: datetime,
    _max: int,
    result_timeout: float,
) -> Outcome:
    found = _message(conn, reporter, frame)
    if found is None:
        return _unknown(frame)
    row, attempt = found
    if (
        row.state == "dispatched"
        and row.device_id == reporter.device_id
        and attempt == row.attempts
    ):
        conn.execute(
            update(messages)
            .where(messages.c.id == row.id)
            .values(acked_at=now, lease_until=now + timedelta(seconds=result_timeout))
        )
    return Outcome()  # a late or repeated ack changes nothing


def _result(
    conn: Connection,
    reporter: Reporter,
    frame: dict[str, Any],
    now: datetime,
    max_attempts: int,
    _timeout: float,
) -> Outcome:
    found = _message(conn, reporter, frame)
    if found is None:
        return _unknown(frame)
    row, attempt = found
    if row.state not in ("dispatched", "queued"):
        return Outcome()  # already settled: a repeat after a reconnect
    at = _when(frame, now)
    if frame["status"] == "sent":
        conn.execute(
            update(messages)
            .where(messages.c.id == row.id)
            .values(state="sent", sent_at=at, device_id=reporter.device_id, lease_until=None)
        )
        dispatch.queue_status(conn, [row], "sent", at)
        return Outcome()
    if attempt != row.attempts:
        return Outcome()  # a repeated report of an earlier failed attempt
    reason = str(frame.get("reason") or "the device could not send it")[:500]
    if row.attempts + 1 < max_attempts:
        conn.execute(
            update(messages)
            .where(messages.c.id == row.id)
            .values(
                state="queued",
                device_id=None,
                lease_until=None,
                acked_at=None,
                attempts=row.attempts + 1,
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
    conn.execute(update(messages).where(messages.c.id == row.id).values(attempts=row.attempts + 1))
    dispatch.fail_messages(conn, [row], reason, at)
    return Outcome()


def _delivery(
    conn: Connection,
    reporter: Reporter,
    frame: dict[str, Any],
    now: datetime,
    _max: int,
    _timeout: float,
) -> Outcome:
    found = _message(conn, reporter, frame)
    if found is None:
        return _unknown(frame)
    row = found[0]
    if row.state not in ("dispatched", "queued", "sent"):
        return Outcome()
    at = _when(frame, now)
    if frame["status"] == "delivered":
        conn.execute(
            update(messages)
            .where(messages.c.id == row.id)
            .values(state="received", delivered_at=at, lease_until=None)
        )
        dispatch.queue_status(conn, [row], "received", at)
    else:
        reason = str(frame.get("reason") or "not delivered to the recipient")[:500]
        dispatch.fail_messages(conn, [row], reason, at)
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
    conn: Connection,
    reporter: Reporter,
    frame: dict[str, Any],
    now: datetime,
    _max: int,
    _timeout: float,
) -> Outcome:
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
    conn: Connection,
    reporter: Reporter,
    frame: dict[str, Any],
    now: datetime,
    _max: int,
    _timeout: float,
) -> Outcome:
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
    conn: Connection,
    reporter: Reporter,
    frame: dict[str, Any],
    now: datetime,
    _max: int,
    _timeout: float,
) -> Outcome:
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


_HANDLERS = {
    "ack": _ack,
    "result": _result,
    "delivery": _delivery,
    "sms_received": _sms_received,
    "call": _call,
    "qualification": _qualification,
}
