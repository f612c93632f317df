"""The store side of dispatching: claim due messages for devices, leases, acks.

Claims are one transaction per dispatcher tick. On PostgreSQL the candidate
rows are locked with FOR UPDATE SKIP LOCKED so that two nodes never claim the
same message; SQLite serialises writers (BEGIN IMMEDIATE), which gives the
same guarantee on one node.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from simgate.domain import payloads
from simgate.domain.dates import utcnow
from simgate.domain.sms import MAX_TEXT
from simgate.services import outbox
from simgate.store.tables import accounts, devices, message_events, messages


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    phone_number: str
    message: str
    device_id: int
    attempts: int  # failed sends so far; part of the command id


def promote_due(conn: Connection, now: datetime) -> None:
    """Scheduled messages whose time has come join the queue."""
    conn.execute(
        update(messages)
        .where(messages.c.state == "scheduled", messages.c.send_at <= now)
        .values(state="queued")
    )


def expire_leases(conn: Connection, now: datetime, max_attempts: int) -> None:
    """Unacked hand-overs go back to the queue; acked ones with no result fail.

    An acked message is not handed to another phone: the phone said it holds
    it, and sending it elsewhere could send it twice.
    """
    conn.execute(
        update(messages)
        .where(
            messages.c.state == "dispatched",
            messages.c.acked_at.is_(None),
            messages.c.lease_until < now,
        )
        # device_id stays: the last holder may still report on it (services/device_reports).
        .values(state="queued", lease_until=None)
    )
    stale = conn.execute(
        select(messages.c.id, messages.c.account_id, messages.c.phone_number, messages.c.id_sms_api)
        .where(
            messages.c.state == "dispatched",
            messages.c.acked_at.is_not(None),
            messages.c.lease_until < now,
        )
        .with_for_update(skip_locked=True)
    ).all()
    if stale:
        fail_messages(conn, stale, "no result from the device in time", now)


def fail_messages(conn: Connection, rows: Iterable[Any], reason: str, now: datetime) -> None:
    """Mark messages failed and queue their `status: failed` webhooks."""
    rows = list(rows)
    conn.execute(
        update(messages)
        .where(messages.c.id.in_([r.id for r in rows]))
        .values(state="failed", failed_at=now, fail_reason=reason, lease_until=None)
    )
    conn.execute(
        insert(message_events),
        [{"message_id": r.id, "at": now, "state": "failed", "detail": reason} for r in rows],
    )
    queue_status(conn, rows, "failed", now)


def queue_status(
    conn: Connection, rows: list[Any], status: str, at: datetime | list[datetime]
) -> None:
    """Queue `status` webhooks for message rows (id, account_id, phone_number,
    id_sms_api); `at` is one time for all or one per row."""
    times = at if isinstance(at, list) else [at] * len(rows)
    by_account: dict[int, list[tuple[Any, datetime]]] = {}
    for row, moment in zip(rows, times, strict=True):
        by_account.setdefault(row.account_id, []).append((row, moment))
    for account_id, group in by_account.items():
        account = conn.execute(
            select(accounts.c.email, accounts.c.webhook_status).where(accounts.c.id == account_id)
        ).one()
        if not account.webhook_status:
            continue
        outbox.enqueue_many(
            conn,
            account_id,
            "status",
            [
                payloads.delivery_status(account.email, r.phone_number, status, t, r.id_sms_api)
                for r, t in group
            ],
            url=account.webhook_status,
        )


def claim(
    conn: Connection,
    account_id: int,
    capacity: dict[int, int],
    now: datetime,
    lease_seconds: float,
    max_handovers: int,
) -> list[Claimed]:
    """Claim up to sum(capacity) due messages of the account and spread them
    over its devices (device id → how many it may take now).

    Order: priority (higher first), then date_to_send, then acceptance order.
    A message that already failed on a device goes to another one when it can.
    A message no device can take fails here instead of blocking the queue:
    one handed over `max_handovers` times without an ack (devices drop
    what they cannot hold), or one too long for any device.
    """
    wanted = sum(capacity.values())
    if wanted <= 0:
        return []
    rows = conn.execute(
        select(
            messages.c.id,
            messages.c.account_id,
            messages.c.phone_number,
            messages.c.id_sms_api,
            messages.c.message,
            messages.c.attempts,
            messages.c.handovers,
        )
        .where(
            messages.c.account_id == account_id,
            messages.c.state == "queued",
            messages.c.send_at <= now,
        )
        .order_by(messages.c.priority.desc(), messages.c.send_at, messages.c.id)
        .limit(wanted)
        .with_for_update(skip_locked=True)
    ).all()
    rows = _drop_undeliverable(conn, list(rows), max_handovers, now)
    if not rows:
        return []
    assigned = assign(rows, capacity, _failed_devices(conn, [r.id for r in rows if r.attempts]))
    lease_until = now + timedelta(seconds=lease_seconds)
    claimed: list[Claimed] = []
    for device_id, group in assigned.items():
        conn.execute(
            update(messages)
            .where(messages.c.id.in_([r.id for r in group]))
            .values(
                state="dispatched",
                device_id=device_id,
                lease_until=lease_until,
                dispatched_at=now,
                acked_at=None,
                handovers=messages.c.handovers + 1,
            )
        )
        claimed.extend(
            Claimed(r.id, r.phone_number, r.message, device_id, r.attempts) for r in group
        )
    return claimed


def _drop_undeliverable(
    conn: Connection, rows: list[Any], max_handovers: int, now: datetime
) -> list[Any]:
    """Fail the rows no device can take; return the others."""
    too_long = [r for r in rows if len(r.message) > MAX_TEXT]
    refused = [r for r in rows if r.handovers >= max_handovers and len(r.message) <= MAX_TEXT]
    if too_long:
        fail_messages(conn, too_long, "too long for a device to take", now)
    if refused:
        reason = f"handed to a device {max_handovers} times and never acknowledged"
        fail_messages(conn, refused, reason, now)
    if not too_long and not refused:
        return rows
    dropped = {r.id for r in too_long} | {r.id for r in refused}
    return [r for r in rows if r.id not in dropped]


def assign(
    rows: list[Any], capacity: dict[int, int], failed_on: dict[int, set[int]]
) -> dict[int, list[Any]]:
    """Spread `rows` (in order) over the devices, round robin within each
    one's capacity, avoiding a device a message already failed on when
    another can take it."""
    left = dict(capacity)
    order = sorted(left, key=lambda d: -left[d])
    assigned: dict[int, list[Any]] = {}
    turn = 0
    for row in rows:
        avoid = failed_on.get(row.id, set())
        candidates = [d for d in order if left[d] > 0]
        if not candidates:
            break
        preferred = [d for d in candidates if d not in avoid] or candidates
        device = preferred[turn % len(preferred)]
        turn += 1
        left[device] -= 1
        assigned.setdefault(device, []).append(row)
    return assigned


def _failed_devices(conn: Connection, message_ids: list[int]) -> dict[int, set[int]]:
    if not message_ids:
        return {}
    found: dict[int, set[int]] = {}
    rows = conn.execute(
        select(message_events.c.message_id, message_events.c.device_id).where(
            message_events.c.message_id.in_(message_ids),
            message_events.c.state == "retry",
        )
    )
    for row in rows:
        found.setdefault(row.message_id, set()).add(row.device_id)
    return found


def release_unacked(conn: Connection, device_id: int) -> int:
    """A device went away: what it had not acked goes back to the queue at once."""
    return conn.execute(
        update(messages)
        .where(
            messages.c.device_id == device_id,
            messages.c.state == "dispatched",
            messages.c.acked_at.is_(None),
        )
        .values(state="queued", lease_until=None)
    ).rowcount


def set_online(conn: Connection, device_id: int, node: str) -> None:
    conn.execute(
        update(devices)
        .where(devices.c.id == device_id)
        .values(online_node=node, last_seen_at=utcnow())
    )


def set_offline(conn: Connection, device_id: int, node: str) -> None:
    # Only the node that holds the socket marks it offline: the device may
    # already have reconnected to another node.
    conn.execute(
        update(devices)
        .where(devices.c.id == device_id, devices.c.online_node == node)
        .values(online_node=None, last_seen_at=utcnow())
    )
