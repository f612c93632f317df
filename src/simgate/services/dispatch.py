"""Dispatching: claim due messages for devices, expire leases, fail what no
device can take (the queries are in store/messages.py).

Claims are one transaction per dispatcher tick (`tick`). On PostgreSQL the candidate
rows are locked with FOR UPDATE SKIP LOCKED so that two nodes never claim the
same message; SQLite serialises writers (BEGIN IMMEDIATE), which gives the
same guarantee on one node.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Engine

from simgate import metrics
from simgate.domain import payloads
from simgate.domain.sms import MAX_TEXT
from simgate.services import dispatch_policy, outbox
from simgate.services.dispatch_policy import Gate
from simgate.store import accounts, in_flight
from simgate.store import devices as device_store
from simgate.store import messages as store
from simgate.store.db import reading
from simgate.store.devices import DeviceSims
from simgate.store.messages import Due

# account id → {device id → how many SMS it may be handed now}
Plan = dict[int, dict[int, int]]

# Marks a transaction (Connection.execution_options) that gives the dispatcher
# work without writing a message: a phone that came online.
WAKE_OPTION = "simgate_wake_dispatcher"
# Marks the dispatcher's own ticks: their claims do not wake it (it goes round
# again by itself when a tick claimed something).
OWN_TICK = "simgate_dispatcher_tick"
# Messages a sweep expires per query: a backlog goes in bounded batches.
EXPIRE_BATCH = 500
EXPIRED_REASON = "its validity ended before a phone took it"


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    phone_number: str
    message: str
    device_id: int
    attempts: int  # failed sends so far; part of the command id
    valid_until: datetime | None = None  # for the phone: not worth sending after
    sim: int | None = None  # the slot to send from: the message's, else the device's default


class AboutMessage(Protocol):
    """What failing a message and its status webhook need (store.messages.MessageRef,
    a report's Held row...)."""

    @property
    def id(self) -> int: ...
    @property
    def account_id(self) -> int: ...
    @property
    def phone_number(self) -> str: ...
    @property
    def id_sms_api(self) -> str: ...


def tick(
    engine: Engine,
    plan: Plan,
    lease: float,
    max_attempts: int,
    max_handovers: int,
    max_in_flight: int,
    settling: set[int],
    sweep: bool,
    now: datetime,
    holding: dict[int, int] | None = None,
    drained: set[int] | None = None,
) -> list[Claimed]:
    """One dispatcher tick in one transaction: with `sweep`, promote what is due
    and expire leases; then claim work for each account of `plan` (account id →
    device id → how many it may take now). `holding`, if given, is filled with
    what each planned device holds once the tick is over (device id → SMS);
    `drained` with the accounts whose queue had less than was asked of it."""
    claimed: list[Claimed] = []
    if not plan:
        if not sweep:
            return claimed
        with reading(engine) as conn:
            if not store.sweep_has_work(conn, now):
                return claimed  # no write lock taken for nothing
    devices = [device_id for capacity in plan.values() for device_id in capacity]
    held: dict[int, int] = {}
    with engine.begin() as conn:
        conn.execution_options(**{OWN_TICK: True})
        if sweep:
            promote_due(conn, now)
            expire_lapsed(conn, now)
            expire_leases(conn, now, max_attempts)
        if plan:
            # Counted after expired leases went back: what a device holds now.
            held = in_flight.held_by(conn, devices, settling)
            plan = limit_in_flight(plan, held, max_in_flight)
        gates = dispatch_policy.gates(conn, plan, now)
        for account_id, capacity in plan.items():
            gate = gates[account_id]
            claimed += claim(
                conn, account_id, capacity, now, lease, max_handovers, gate, drained
            )
    if holding is not None:
        holding.update({device_id: held.get(device_id, 0) for device_id in devices})
        for item in claimed:
            holding[item.device_id] += 1
    return claimed


def limit_in_flight(plan: Plan, held: Mapping[int, int], max_in_flight: int) -> Plan:
    """`plan` with each device kept under `max_in_flight` SMS held at once
    (`held`: device id → SMS it holds now); devices left with no room drop out."""
    limited: Plan = {}
    for account_id, capacity in plan.items():
        for device_id, count in capacity.items():
            room = min(count, max_in_flight - held.get(device_id, 0))
            if room > 0:
                limited.setdefault(account_id, {})[device_id] = room
    return limited


def promote_due(conn: Connection, now: datetime) -> None:
    """Scheduled messages whose time has come join the queue."""
    store.promote_due(conn, now)


def expire_lapsed(conn: Connection, now: datetime) -> None:
    """Messages whose validity ended before a phone took them expire: those
    still waiting, and hand-overs never acknowledged whose lease ended too
    (they would otherwise go back to the queue). One bounded batch each."""
    lapsed = store.expiring(conn, now, EXPIRE_BATCH)
    lapsed += store.unacked_lapsed(conn, now, EXPIRE_BATCH)
    expire_messages(conn, lapsed, now)


def expire_messages(conn: Connection, rows: Iterable[AboutMessage], now: datetime) -> None:
    """Mark messages expired at `now` and queue their `status: expired` webhooks."""
    rows = list(rows)
    if rows:
        store.mark_expired(conn, [r.id for r in rows], EXPIRED_REASON, now)
        queue_status(conn, rows, "expired", now, now=now)


def expire_leases(conn: Connection, now: datetime, max_attempts: int) -> None:
    """Unacked hand-overs go back to the queue; acked ones with no result fail.

    An acked message is not handed to another phone: the phone said it holds
    it, and sending it elsewhere could send it twice.
    """
    store.requeue_unacked_expired(conn, now)
    stale = store.acked_expired(conn, now)
    if stale:
        fail_messages(conn, stale, "no result from the device in time", now, now=now)


def fail_messages(
    conn: Connection, rows: Iterable[AboutMessage], reason: str, at: datetime, *, now: datetime
) -> None:
    """Mark messages failed at `at` and queue their `status: failed` webhooks."""
    rows = list(rows)
    store.mark_failed(conn, [r.id for r in rows], reason, at)
    queue_status(conn, rows, "failed", at, now=now)


def queue_status(
    conn: Connection,
    rows: list[AboutMessage],
    status: str,
    at: datetime | list[datetime],
    *,
    now: datetime,
) -> None:
    """Queue `status` webhooks for message rows (id, account_id, phone_number,
    id_sms_api); `at` is one time for all or one per row, `now` the time they
    are queued."""
    metrics.status_on_commit(conn, status, len(rows))
    times = at if isinstance(at, list) else [at] * len(rows)
    by_account: dict[int, list[tuple[AboutMessage, datetime]]] = {}
    for row, moment in zip(rows, times, strict=True):
        by_account.setdefault(row.account_id, []).append((row, moment))
    for account_id, group in by_account.items():
        email, url = accounts.status_target(conn, account_id)
        if not url:
            continue
        outbox.enqueue_many(
            conn,
            account_id,
            "status",
            [
                payloads.delivery_status(email, r.phone_number, status, t, r.id_sms_api)
                for r, t in group
            ],
            url=url,
            now=now,
        )


def claim(
    conn: Connection,
    account_id: int,
    capacity: dict[int, int],
    now: datetime,
    lease_seconds: float,
    max_handovers: int,
    gate: Gate | None = None,
    drained: set[int] | None = None,
) -> list[Claimed]:
    """Claim up to sum(capacity) due messages of the account and spread them
    over its devices (device id → how many it may take now); the account
    goes into `drained` when its queue held fewer than that.

    Order: priority (higher first), then date_to_send, then acceptance order.
    A message that already failed on a device goes to another one when it can.
    A message no device can take fails here instead of blocking the queue:
    one handed over `max_handovers` times without an ack (devices drop
    what they cannot hold), or one too long for any device.
    The account's sending policy (`gate`, read here when not given) holds
    windowed messages while its window is closed and keeps within its caps.
    """
    wanted = sum(capacity.values())
    if wanted <= 0:
        return []
    gate = gate or dispatch_policy.gates(conn, [account_id], now)[account_id]
    dispatch_policy.hold(conn, gate, now)
    sims = device_store.sims_of(conn, list(capacity))
    rows = store.due(conn, account_id, wanted, _all_slots(sims))
    if drained is not None and len(rows) < wanted:
        drained.add(account_id)
    rows = _drop_undeliverable(conn, _drop_expired(conn, rows, now), max_handovers, now)
    rows = dispatch_policy.admit(gate, rows)
    if not rows:
        return []
    failed_on = store.retry_devices(conn, [r.id for r in rows if r.attempts])
    assigned = assign(rows, capacity, failed_on, {d: s.slots for d, s in sims.items()})
    handed = [r for group in assigned.values() for r in group]
    dispatch_policy.count(conn, account_id, handed, now)
    _count_on_commit(conn, handed, now)
    lease_until = now + timedelta(seconds=lease_seconds)
    claimed: list[Claimed] = []
    for device_id, group in assigned.items():
        store.hand_over(conn, [r.id for r in group], device_id, now, lease_until)
        default = sims[device_id].default if device_id in sims else None
        claimed.extend(
            Claimed(
                r.id,
                r.phone_number,
                r.message,
                device_id,
                r.attempts,
                r.valid_until,
                r.sim or default,
            )
            for r in group
        )
    return claimed


def _count_on_commit(conn: Connection, rows: list[Due], now: datetime) -> None:
    """Hand-overs, and how long the first ones waited since they were due."""
    waited = [(now - r.send_at).total_seconds() for r in rows if r.first]

    def count() -> None:
        metrics.messages_dispatched.inc(len(rows))
        for seconds in waited:
            metrics.handoff_seconds.observe(max(0.0, seconds))

    metrics.on_commit(conn, count)


def _all_slots(sims: Mapping[int, DeviceSims]) -> frozenset[int]:
    """The SIM slots some planned device has (slot 1 when none is known)."""
    return frozenset().union(*(s.slots for s in sims.values())) or frozenset({1})


def _drop_expired(conn: Connection, rows: list[Due], now: datetime) -> list[Due]:
    """Expire the rows whose validity ended (a sweep has not come yet); the others."""
    lapsed = [r for r in rows if r.valid_until is not None and r.valid_until < now]
    if not lapsed:
        return rows
    expire_messages(conn, lapsed, now)
    return [r for r in rows if r.valid_until is None or r.valid_until >= now]


def _drop_undeliverable(
    conn: Connection, rows: list[Due], max_handovers: int, now: datetime
) -> list[Due]:
    """Fail the rows no device can take; return the others."""
    too_long = [r for r in rows if len(r.message) > MAX_TEXT]
    refused = [r for r in rows if r.handovers >= max_handovers and len(r.message) <= MAX_TEXT]
    if too_long:
        fail_messages(conn, too_long, "too long for a device to take", now, now=now)
    if refused:
        reason = f"handed to a device {max_handovers} times and never acknowledged"
        fail_messages(conn, refused, reason, now, now=now)
    if not too_long and not refused:
        return rows
    dropped = {r.id for r in too_long} | {r.id for r in refused}
    return [r for r in rows if r.id not in dropped]


def assign(
    rows: list[Any],
    capacity: dict[int, int],
    failed_on: dict[int, set[int]],
    slots: Mapping[int, frozenset[int]] | None = None,
) -> dict[int, list[Any]]:
    """Spread `rows` (in order) over the devices, round robin within each
    one's capacity, avoiding a device a message already failed on when
    another can take it. A row that names a SIM (`row.sim`) goes only to a
    device whose `slots` have it (a device not in `slots` has slot 1); with
    none free it stays queued."""
    left = dict(capacity)
    order = sorted(left, key=lambda d: -left[d])
    assigned: dict[int, list[Any]] = {}
    turn = 0
    for row in rows:
        avoid = failed_on.get(row.id, set())
        free = [d for d in order if left[d] > 0]
        if not free:
            break
        sim = getattr(row, "sim", None)
        candidates = free if sim is None else [d for d in free if _has(slots, d, sim)]
        if not candidates:
            continue
        preferred = [d for d in candidates if d not in avoid] or candidates
        device = preferred[turn % len(preferred)]
        turn += 1
        left[device] -= 1
        assigned.setdefault(device, []).append(row)
    return assigned


def _has(slots: Mapping[int, frozenset[int]] | None, device_id: int, sim: int) -> bool:
    held = slots.get(device_id) if slots is not None else None
    return sim in (held if held is not None else frozenset({1}))
