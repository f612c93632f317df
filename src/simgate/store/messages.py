"""Queries on `messages` and `message_events`: accepting, dispatching and the
state changes devices report.

Batches stay batches: a list of rows is one executemany, a list of ids one
`IN (...)`, so callers pay one round trip per statement as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    bindparam,
    exists,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Insert, Select, Update

from simgate.domain.messages import Draft
from simgate.store.notify import inserts_into
from simgate.store.tables import message_events, messages

# For the commit hooks (store/notify.py): statements that store new messages,
# and statements that write messages at all.
INSERTS_MESSAGES = inserts_into(messages)


def writes_messages(clause: Any) -> bool:
    return isinstance(clause, Insert | Update) and clause.table is messages


# Client ids looked up per query: keeps the IN list well under every driver's limit.
LOOKUP_CHUNK = 500


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """What a repeat of an `id_sms_api` answers with."""

    id_sms_api: str
    request_hash: str
    segments: int
    created_at: datetime
    phone_number: str
    message: str


@dataclass(frozen=True, slots=True)
class MessageRef:
    """Enough of a message to fail it and to queue its status webhook."""

    id: int
    account_id: int
    phone_number: str
    id_sms_api: str


@dataclass(frozen=True, slots=True)
class Due:
    """A queued message a dispatcher tick may hand to a device."""

    id: int
    account_id: int
    phone_number: str
    id_sms_api: str
    message: str
    attempts: int
    handovers: int
    valid_until: datetime | None  # past it, the message expires instead
    sim: int | None  # the SIM slot it must leave from
    first: bool  # never handed to a phone before: what the caps count (1/0 on SQLite)
    send_at: datetime  # when it became due (for the hand-off latency, simgate.metrics)


# --- accepting -------------------------------------------------------------------


def _upsert(conn: Connection) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(messages)


def by_client_ids(
    conn: Connection, account_id: int, client_ids: list[str]
) -> dict[str, StoredMessage]:
    found: dict[str, StoredMessage] = {}
    for start in range(0, len(client_ids), LOOKUP_CHUNK):
        chunk = client_ids[start : start + LOOKUP_CHUNK]
        query = select(
            messages.c.id_sms_api,
            messages.c.request_hash,
            messages.c.segments,
            messages.c.created_at,
            messages.c.phone_number,
            messages.c.message,
        ).where(messages.c.account_id == account_id, messages.c.id_sms_api.in_(chunk))
        found.update({row.id_sms_api: StoredMessage(*row) for row in conn.execute(query)})
    return found


def insert_new(
    conn: Connection,
    account_id: int,
    fresh: list[Draft],
    now: datetime,
    campaign_id: int | None = None,
) -> tuple[int, set[str]]:
    """Insert accepted drafts; returns (generated ids stored, client ids stored).

    A client id a concurrent request stored first is not stored again (the
    unique (account_id, id_sms_api) constraint settles the race) and is
    missing from the returned set.
    """
    rows = [
        {
            "account_id": account_id,
            "id_sms_api": d.id_sms_api,
            "request_hash": d.request_hash,
            "phone_number": d.phone_number,
            "message": d.message,
            "url": d.url,
            "short_code": d.short_code,
            "priority": d.priority,
            "encoding": d.encoding,
            "segments": d.segments,
            "state": "queued" if d.send_at is None else "scheduled",
            "send_at": d.send_at or now,
            "created_at": now,
            "attempts": 0,
            "campaign_id": campaign_id,
            "valid_until": d.valid_until,
            "sim": d.sim,
            "windowed": d.windowed,
        }
        for d in fresh
    ]
    # Generated ids (15 base62 characters) do not collide in practice: a plain
    # executemany is the cheap path. Only the client's own ids can race a
    # concurrent repeat, settled by the unique constraint.
    generated = [row for row, d in zip(rows, fresh, strict=True) if not d.client_id]
    if generated and conn.dialect.name == "sqlite":
        _insert_on_sqlite(conn, generated)
    elif generated:
        conn.execute(_INSERT, generated)
    own = [row for row, d in zip(rows, fresh, strict=True) if d.client_id]
    if not own:
        return len(generated), set()
    stmt = _upsert(conn).on_conflict_do_nothing(index_elements=["account_id", "id_sms_api"])
    won = {r.id_sms_api for r in conn.execute(stmt.returning(messages.c.id_sms_api), own)}
    return len(generated), won


_INSERT = insert(messages)
# Every column insert_new sets, defaults included (`handovers`), in order.
_COLUMNS = (
    *("account_id", "id_sms_api", "request_hash", "phone_number", "message", "url"),
    *("short_code", "priority", "encoding", "segments", "state", "send_at", "created_at"),
    *("attempts", "handovers", "campaign_id", "valid_until", "sim", "windowed"),
)
# Rows per INSERT statement on SQLite. One statement of many rows, not an
# executemany of one-row statements: the rollup trigger on messages (migration
# 0008) costs its setup once per statement, 30-40 us a row through executemany
# and a tenth of that here (raw sqlite3, batches of 500: 52 -> 13 us a row).
# 50 rows of 19 values stay under 999 parameters, the limit of SQLite before 3.32.
_SQLITE_ROWS_PER_INSERT = 50
_SQLITE_ROW = f"({', '.join('?' * len(_COLUMNS))})"
_SQLITE_INSERT = f"INSERT INTO messages ({', '.join(_COLUMNS)}) VALUES "
_bind_processors: dict[Any, list[tuple[int, Any]]] = {}


def _insert_on_sqlite(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """`conn.execute(_INSERT, rows)` for SQLite at a fifth of the cost: multi-row
    INSERTs on the driver, the values stored exactly as SQLAlchemy
    stores them (its own bind processors: DateTime as text, Boolean as 0/1).
    SQLAlchemy's statement path cost 150 µs for a one-row insert and 40 µs a
    row in batches of 500, most of a sendsms' time in the writer.

    The commit hooks (store/notify, the dispatcher's wake-up) hear of it as
    of `_INSERT`: the driver's statement would pass them by."""
    dialect = conn.dialect
    processors = _bind_processors.get(dialect)
    if processors is None:
        processors = []
        for index, name in enumerate(_COLUMNS):
            process = messages.c[name].type._cached_bind_processor(dialect)
            if process is not None:
                processors.append((index, process))
        _bind_processors[dialect] = processors
    # A batch shares a few distinct dates (`now`, a send date): each is
    # formatted once, not once a row (SQLAlchemy's DateTime formatting was
    # an eighth of a batch's time in the writer).
    done: list[dict[Any, Any]] = [{} for _ in processors]
    values: list[Any] = []
    for row in rows:
        row.setdefault("handovers", 0)
        value = [row[name] for name in _COLUMNS]
        for (index, process), seen in zip(processors, done, strict=True):
            raw = value[index]
            if raw is not None:
                stored = seen.get(raw)
                if stored is None:
                    stored = seen[raw] = process(raw)
                value[index] = stored
        values += value
    options = conn.get_execution_options()
    width = len(_COLUMNS) * _SQLITE_ROWS_PER_INSERT
    # Straight to the driver: exec_driver_sql's execution context, result and
    # events cost 40-50 us a statement, a tenth of a single sendsms in the
    # writer. Its errors are wrapped as SQLAlchemy would (the writer reruns
    # the others' work after a DBAPIError).
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for start in range(0, len(values), width):
            chunk = values[start : start + width]
            statement = _SQLITE_INSERT + ", ".join([_SQLITE_ROW] * (len(chunk) // len(_COLUMNS)))
            try:
                cursor.execute(statement, chunk)
            except dialect.loaded_dbapi.Error as exc:
                raise DBAPIError.instance(
                    statement, chunk, exc, dialect.loaded_dbapi.Error, dialect=dialect
                ) from exc
    finally:
        cursor.close()
    conn.dispatch.after_execute(conn, _INSERT, rows, {}, options, None)


def ids_by_client_id(conn: Connection, account_id: int, client_ids: list[str]) -> dict[str, int]:
    rows = conn.execute(
        select(messages.c.id_sms_api, messages.c.id).where(
            messages.c.account_id == account_id, messages.c.id_sms_api.in_(client_ids)
        )
    )
    return {r.id_sms_api: int(r.id) for r in rows}


# --- dispatching -----------------------------------------------------------------


# Scheduled messages promoted per statement (promote_due loops until done).
PROMOTE_BATCH = 5000


def promote_due(conn: Connection, now: datetime) -> int:
    """Scheduled messages whose time has come join the queue; how many did.

    In batches taken in send-date order off ix_messages_due: a plain UPDATE
    with `send_at <= now` let PostgreSQL estimate half a history-heavy table
    as due (send dates of past messages are all in the past) and scan all of
    it on every sweep; a LIMIT makes the index the plan whatever the estimate."""
    due = (messages.c.state == "scheduled", messages.c.send_at <= now)
    batch = select(messages.c.id).where(*due).order_by(messages.c.send_at).limit(PROMOTE_BATCH)
    if conn.dialect.name == "postgresql":
        batch = batch.with_for_update(skip_locked=True)
    promote = (
        update(messages)
        .where(messages.c.id.in_(batch.scalar_subquery()), *due)
        .values(state="queued")
    )
    promoted = 0
    while True:
        count = conn.execute(promote).rowcount
        promoted += count
        if count < PROMOTE_BATCH:
            return promoted


def requeue_unacked_expired(conn: Connection, now: datetime) -> None:
    """Hand-overs the device never acknowledged within their lease go back to the queue."""
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


def acked_expired(conn: Connection, now: datetime) -> list[MessageRef]:
    """Acknowledged messages with no result within their lease (rows locked on PostgreSQL)."""
    rows = conn.execute(
        select(messages.c.id, messages.c.account_id, messages.c.phone_number, messages.c.id_sms_api)
        .where(
            messages.c.state == "dispatched",
            messages.c.acked_at.is_not(None),
            messages.c.lease_until < now,
        )
        .with_for_update(skip_locked=True)
    )
    return [MessageRef(*row) for row in rows]


def mark_failed(conn: Connection, message_ids: list[int], reason: str, now: datetime) -> None:
    """Messages failed for `reason`, each with its `failed` event."""
    _end(conn, message_ids, "failed", reason, now)


def _end(conn: Connection, message_ids: list[int], state: str, reason: str, now: datetime) -> None:
    """Messages ended in `state` (failed or expired) at `now` for `reason`."""
    if not message_ids:
        return
    conn.execute(
        update(messages)
        .where(messages.c.id.in_(message_ids))
        .values(state=state, failed_at=now, fail_reason=reason, lease_until=None)
    )
    conn.execute(
        insert(message_events),
        [{"message_id": i, "at": now, "state": state, "detail": reason} for i in message_ids],
    )


# Not handed to a phone yet: a message in these states expires past its validity.
WAITING = ("scheduled", "queued")


# Is there anything for a sweep to do? One EXISTS per range a sweep works
# on, each a probe of an index (ix_messages_due, ix_messages_expiring).
_SWEEP_WORK = select(
    or_(
        exists().where(messages.c.state == "scheduled", messages.c.send_at <= bindparam("now")),
        *(
            exists().where(messages.c.state == state, messages.c.valid_until < bindparam("now"))
            for state in WAITING
        ),
        exists().where(
            messages.c.state == "dispatched", messages.c.lease_until < bindparam("now")
        ),
    )
)


def sweep_has_work(conn: Connection, now: datetime) -> bool:
    """Whether a sweep at `now` would change anything: a scheduled message
    due, a waiting one past its validity, or a hand-over past its lease (what
    promote_due, expiring, unacked_lapsed, requeue_unacked_expired and
    acked_expired take). A read, so that a sweep with nothing to do takes no
    write lock: once a second it held the SQLite writer back (1.5-2 ms of
    p99 for single sendsms at 8 connections)."""
    return bool(conn.execute(_SWEEP_WORK, {"now": now}).scalar())


def expiring(conn: Connection, now: datetime, limit: int) -> list[MessageRef]:
    """Up to `limit` messages not yet handed to a phone whose validity ended
    before `now`, locked against other nodes. One range of the index
    ix_messages_expiring (state, valid_until) per state: the cost is what
    expires, never the table."""
    found: list[MessageRef] = []
    for state in WAITING:
        if len(found) >= limit:
            break
        found += _lapsed(conn, now, limit - len(found), messages.c.state == state)
    return found


def unacked_lapsed(conn: Connection, now: datetime, limit: int) -> list[MessageRef]:
    """Hand-overs never acknowledged whose lease and validity both ended:
    they expire instead of going back to the queue."""
    return _lapsed(
        conn,
        now,
        limit,
        messages.c.state == "dispatched",
        messages.c.acked_at.is_(None),
        messages.c.lease_until < now,
    )


def lapsed_query(now: datetime, limit: int, *where: Any) -> Select[Any]:
    """Messages matching `where` whose validity ended before `now`, soonest
    ended first: a range of ix_messages_expiring when `where` fixes the state."""
    return (
        select(messages.c.id, messages.c.account_id, messages.c.phone_number, messages.c.id_sms_api)
        .where(*where, messages.c.valid_until < now)
        .order_by(messages.c.valid_until)
        .limit(limit)
    )


def _lapsed(conn: Connection, now: datetime, limit: int, *where: Any) -> list[MessageRef]:
    rows = conn.execute(lapsed_query(now, limit, *where).with_for_update(skip_locked=True))
    return [MessageRef(*row) for row in rows]


def mark_expired(conn: Connection, message_ids: list[int], reason: str, now: datetime) -> None:
    """Messages expired (their validity ended before a phone took them), each
    with its `expired` event; failed_at and fail_reason say when and why."""
    _end(conn, message_ids, "expired", reason, now)


def due(
    conn: Connection,
    account_id: int,
    limit: int,
    slots: frozenset[int] = frozenset({1}),
) -> list[Due]:
    """Up to `limit` queued messages of the account, in sending order, locked
    against other nodes (FOR UPDATE SKIP LOCKED on PostgreSQL). A message that
    names a SIM is due only if one of `slots` (the SIM slots of the devices
    that may take work now) is its own; the others wait.

    Every queued message is due: a message is queued only once its send date
    has passed (insert_new, promote_due). The claim reads the partial index
    ix_messages_queue: it costs the rows it hands over, never the backlog of
    other accounts (a filter on the send date would let SQLite prefer
    ix_messages_due, which holds every account's queue)."""
    rows = conn.execute(_DUE, {"account_id": account_id, "slots": sorted(slots), "limit": limit})
    return [Due(*row) for row in rows]


# The dispatcher's statements are built once: built at every tick, SQLAlchemy's
# coercions and cache keys cost more CPU than SQLite spent running them.
_DUE = (
    select(
        messages.c.id,
        messages.c.account_id,
        messages.c.phone_number,
        messages.c.id_sms_api,
        messages.c.message,
        messages.c.attempts,
        messages.c.handovers,
        messages.c.valid_until,
        messages.c.sim,
        messages.c.dispatched_at.is_(None),
        messages.c.send_at,
    )
    .where(
        messages.c.account_id == bindparam("account_id"),
        # A literal, not a parameter: only then may the planners read the
        # partial index ix_messages_queue (the account's queue in order).
        messages.c.state == literal_column("'queued'"),
        or_(messages.c.sim.is_(None), messages.c.sim.in_(bindparam("slots", expanding=True))),
    )
    .order_by(messages.c.priority.desc(), messages.c.send_at, messages.c.id)
    .limit(bindparam("limit", type_=Integer))
    .with_for_update(skip_locked=True)
)


def hand_over(
    conn: Connection, message_ids: list[int], device_id: int, now: datetime, lease_until: datetime
) -> None:
    conn.execute(
        _HAND_OVER,
        {"ids": message_ids, "device": device_id, "lease": lease_until, "at": now},
    )


_HAND_OVER = (
    update(messages)
    .where(messages.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        state="dispatched",
        device_id=bindparam("device"),
        lease_until=bindparam("lease"),
        dispatched_at=bindparam("at"),
        acked_at=None,
        handovers=messages.c.handovers + 1,
    )
)


def retry_devices(conn: Connection, message_ids: list[int]) -> dict[int, set[int]]:
    """Message id → the devices it already failed on."""
    if not message_ids:
        return {}
    found: dict[int, set[int]] = {}
    rows = conn.execute(
        select(message_events.c.message_id, message_events.c.device_id).where(
            message_events.c.message_id.in_(message_ids),
            message_events.c.state == "retry",
        )
    )
    for message_id, device_id in rows:
        found.setdefault(message_id, set()).add(device_id)
    return found


def release_unacked(conn: Connection, device_id: int) -> int:
    """A device went away: what it had not acked goes back to the queue at once."""
    released: int = conn.execute(
        update(messages)
        .where(
            messages.c.device_id == device_id,
            messages.c.state == "dispatched",
            messages.c.acked_at.is_(None),
        )
        .values(state="queued", lease_until=None)
    ).rowcount
    return released


# --- sending policy: windows and caps (services/dispatch_policy.py) -------------


def hold_windowed(conn: Connection, account_id: int, now: datetime, opening: datetime) -> None:
    """The account's window is closed: its queued windowed messages go back to
    `scheduled` until `opening` (bounded by account and state: the work due).
    On PostgreSQL rows another transaction holds are skipped rather than
    waited for (no lock cycle between nodes); the next tick looks again."""
    ids = (
        select(messages.c.id)
        .where(
            messages.c.state == "queued",
            messages.c.account_id == account_id,
            messages.c.windowed.is_(True),
            messages.c.send_at <= now,
        )
        .with_for_update(skip_locked=True)
    )
    conn.execute(
        update(messages)
        .where(messages.c.id.in_(ids.scalar_subquery()))
        .values(state="scheduled", send_at=opening)
    )


def waits(conn: Connection, account_id: int, state: str, *, windowed: bool | None = None) -> bool:
    """Whether at least one message of the account is in `state` (windowed ones
    only, or not windowed only, when `windowed` says so)."""
    query = select(messages.c.id).where(
        messages.c.account_id == account_id, messages.c.state == state
    )
    if windowed is not None:
        query = query.where(messages.c.windowed.is_(windowed))
    return conn.execute(query.limit(1)).first() is not None


# --- what devices report ---------------------------------------------------------

HeldRow = tuple[int, int, str, int | None, int, str, str]

# The statements of a batch of device reports, built once: built per batch,
# SQLAlchemy's coercion of each id and its cache key cost more CPU than SQLite
# spent running them.
_HELD = select(
    messages.c.id,
    messages.c.account_id,
    messages.c.state,
    messages.c.device_id,
    messages.c.attempts,
    messages.c.phone_number,
    messages.c.id_sms_api,
).where(messages.c.id.in_(bindparam("ids", expanding=True)))


def held(conn: Connection, message_ids: set[int], account_ids: set[int]) -> list[HeldRow]:
    """(id, account_id, state, device_id, attempts, phone_number, id_sms_api) of
    the messages named, among the accounts' own.

    The accounts are checked here, not in SQL: given `account_id IN (...)`,
    SQLite walks the account's whole history through its created-at index
    instead of looking the ids up by primary key."""
    rows = conn.execute(_HELD, {"ids": list(message_ids)})
    return [tuple(row) for row in rows if row[1] in account_ids]


_BY_ID = messages.c.id == bindparam("mid")
_MARK_ACKED = (
    update(messages)
    .where(_BY_ID)
    .values(acked_at=bindparam("at"), lease_until=bindparam("lease"), handovers=0)
)
_MARK_SENT = (
    update(messages).where(_BY_ID).values(state="sent", sent_at=bindparam("at"), lease_until=None)
)
_MARK_DELIVERED = (
    update(messages)
    .where(_BY_ID)
    .values(state="received", delivered_at=bindparam("at"), lease_until=None)
)


def mark_acked(conn: Connection, acks: list[tuple[int, datetime, datetime]]) -> None:
    """(message id, acked at, new lease end) for each acknowledged hand-over."""
    conn.execute(_MARK_ACKED, [{"mid": mid, "at": at, "lease": lease} for mid, at, lease in acks])


def mark_sent(conn: Connection, sent: list[tuple[int, datetime]]) -> None:
    """(message id, sent at) for each message a device sent."""
    conn.execute(_MARK_SENT, [{"mid": mid, "at": at} for mid, at in sent])


def mark_delivered(conn: Connection, delivered: list[tuple[int, datetime]]) -> None:
    """(message id, delivered at) for each delivery report."""
    conn.execute(_MARK_DELIVERED, [{"mid": mid, "at": at} for mid, at in delivered])


def requeue_for_retry(conn: Connection, message_id: int, attempts: int) -> None:
    # device_id stays: the last holder, whose late reports are still its own.
    conn.execute(
        update(messages)
        .where(messages.c.id == message_id)
        .values(state="queued", lease_until=None, acked_at=None, attempts=attempts)
    )


def set_attempts(conn: Connection, message_id: int, attempts: int) -> None:
    conn.execute(update(messages).where(messages.c.id == message_id).values(attempts=attempts))


def add_event(
    conn: Connection,
    message_id: int,
    at: datetime,
    state: str,
    device_id: int | None = None,
    detail: str | None = None,
) -> None:
    conn.execute(
        insert(message_events).values(
            message_id=message_id, at=at, state=state, device_id=device_id, detail=detail
        )
    )
