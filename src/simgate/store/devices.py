"""Queries on `devices` and `device_refs`: pairing, presence, and the refs of
the reports a device already sent. A device is an `agent` (simgate's
WebSocket) or an `smsgate` app (api/mobile.py), which registers itself with
the pairing secret the operator typed into it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from simgate.store.accounts import Account
from simgate.store.tables import accounts, device_refs, devices, messages


@dataclass(frozen=True, slots=True)
class DeviceRow:
    id: int
    account_id: int
    account_email: str
    name: str
    rate_per_minute: int
    online: bool
    last_seen_at: datetime | None
    in_flight: int  # dispatched to it, waiting for the result
    kind: str
    sims: frozenset[int] = frozenset({1})  # the SIM slots it declared
    sim_number: int | None = None  # its default SIM; None: the phone's own choice


@dataclass(frozen=True, slots=True)
class AppDevice:
    """An smsgate device as the mobile API sees it."""

    id: int
    rate_per_minute: int
    account: Account
    signing_key: str
    sim_number: int | None


@dataclass(frozen=True, slots=True)
class DeviceSims:
    """The SIM slots a device declared (a device that never said has slot 1)
    and the one it sends from when a message names none (None: its own choice)."""

    slots: frozenset[int]
    default: int | None


ONE_SIM = frozenset({1})


def decode_slots(raw: str | None, app_info: str | None = None) -> frozenset[int]:
    """devices.sims as stored (a JSON list written by `set_sims`). NULL: for
    an SMS Gateway app registered before simgate kept `sims`, the
    `simNumber`s of the SIM cards it reported (app_info); else, or anything
    unreadable, one SIM, slot 1."""
    if not raw and app_info:
        try:
            cards = json.loads(app_info).get("simCards", [])
            raw = json.dumps([c.get("simNumber") for c in cards if isinstance(c, dict)])
        except (ValueError, AttributeError, TypeError):  # not what the app reports
            raw = None
    if not raw:
        return ONE_SIM
    try:
        value = json.loads(raw)
    except ValueError:
        return ONE_SIM
    slots = frozenset(v for v in value if type(v) is int) if isinstance(value, list) else None
    return slots or ONE_SIM


def encode_slots(slots: tuple[int, ...] | None) -> str | None:
    return None if slots is None else json.dumps(sorted(set(slots)))


def sims_of(conn: Connection, device_ids: list[int]) -> dict[int, DeviceSims]:
    """Device id → its SIMs, for the devices named (one query by primary key)."""
    if not device_ids:
        return {}
    rows = conn.execute(_SIMS_OF, {"ids": device_ids})
    return {r.id: DeviceSims(decode_slots(r.sims, r.app_info), r.sim_number) for r in rows}


# Read at every dispatcher tick: built once.
_SIMS_OF = select(devices.c.id, devices.c.sims, devices.c.app_info, devices.c.sim_number).where(
    devices.c.id.in_(bindparam("ids", expanding=True))
)


def set_sims(conn: Connection, device_id: int, slots: tuple[int, ...] | None) -> None:
    """The SIM slots the device declared as it connected (None: it did not say)."""
    conn.execute(update(devices).where(devices.c.id == device_id).values(sims=encode_slots(slots)))


def set_default_sim(conn: Connection, device_id: int, account_id: int, sim: int | None) -> bool:
    """The SIM the device sends from when a message names none; False when
    the account has no such paired device."""
    changed: int = conn.execute(
        update(devices)
        .where(
            devices.c.id == device_id,
            devices.c.account_id == account_id,
            devices.c.removed_at.is_(None),
        )
        .values(sim_number=sim)
    ).rowcount
    return bool(changed)


def is_online(seen_after: datetime) -> ColumnElement[bool]:
    """A node holds the device's socket and marked it seen after `seen_after`
    (services/devices.py says how recent that must be)."""
    return and_(devices.c.online_node.is_not(None), devices.c.last_seen_at > seen_after)


def insert_device(
    conn: Connection,
    account_id: int,
    name: str,
    token_hash: str,
    rate: int,
    now: datetime,
    kind: str = "agent",
    pairing_hash: str | None = None,
    signing_key: str | None = None,
    sim_number: int | None = None,
) -> int:
    return int(
        conn.execute(
            insert(devices).values(
                account_id=account_id,
                name=name,
                token_hash=token_hash,
                rate_per_minute=rate,
                created_at=now,
                kind=kind,
                pairing_hash=pairing_hash,
                signing_key=signing_key,
                sim_number=sim_number,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    )


def paired(conn: Connection, seen_after: datetime, email: str | None = None) -> list[DeviceRow]:
    """The paired devices (of the account `email`, or all), with their in-flight
    counts; online if seen after `seen_after`."""
    in_flight = (
        select(messages.c.device_id, func.count().label("n"))
        .where(messages.c.state == "dispatched")
        .group_by(messages.c.device_id)
        .subquery()
    )
    query = (
        select(
            devices.c.id,
            devices.c.account_id,
            accounts.c.email,
            devices.c.name,
            devices.c.rate_per_minute,
            is_online(seen_after).label("online"),
            devices.c.last_seen_at,
            func.coalesce(in_flight.c.n, 0).label("in_flight"),
            devices.c.kind,
            devices.c.sims,
            devices.c.app_info,
            devices.c.sim_number,
        )
        .join(accounts, accounts.c.id == devices.c.account_id)
        .outerjoin(in_flight, in_flight.c.device_id == devices.c.id)
        .where(devices.c.removed_at.is_(None))
        .order_by(devices.c.id)
    )
    if email is not None:
        query = query.where(accounts.c.email == email)
    return [
        DeviceRow(
            r.id,
            r.account_id,
            r.email,
            r.name,
            r.rate_per_minute,
            bool(r.online),
            r.last_seen_at,
            r.in_flight,
            r.kind,
            decode_slots(r.sims, r.app_info),
            r.sim_number,
        )
        for r in conn.execute(query)
    ]


def mark_removed(
    conn: Connection, device_id: int, now: datetime, account_id: int | None = None
) -> bool:
    """Unpair a device (of `account_id` when given); False when there is none to unpair."""
    query = update(devices).where(devices.c.id == device_id, devices.c.removed_at.is_(None))
    if account_id is not None:
        query = query.where(devices.c.account_id == account_id)
    changed: int = conn.execute(query.values(removed_at=now, online_node=None)).rowcount
    return bool(changed)


def by_token_hash(
    conn: Connection, token_hash: str, kind: str = "agent"
) -> tuple[int, int, Account] | None:
    """(device id, rate per minute, account) of a paired device's token, among
    the devices of `kind`: an app's token does not open the agent socket."""
    row = conn.execute(
        select(
            devices.c.id,
            devices.c.rate_per_minute,
            devices.c.account_id,
            accounts.c.email,
            accounts.c.timezone,
            accounts.c.region,
        )
        .join(accounts, accounts.c.id == devices.c.account_id)
        .where(
            devices.c.token_hash == token_hash,
            devices.c.kind == kind,
            devices.c.removed_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    return row.id, row.rate_per_minute, Account(row.account_id, row.email, row.timezone, row.region)


_APP = (
    devices.c.id,
    devices.c.rate_per_minute,
    devices.c.account_id,
    accounts.c.email,
    accounts.c.timezone,
    accounts.c.region,
    devices.c.signing_key,
    devices.c.sim_number,
)


def _app_device(row: Any) -> AppDevice:
    account = Account(row.account_id, row.email, row.timezone, row.region)
    return AppDevice(row.id, row.rate_per_minute, account, row.signing_key, row.sim_number)


def _apps() -> Any:
    return (
        select(*_APP)
        .join(accounts, accounts.c.id == devices.c.account_id)
        .where(devices.c.kind == "smsgate", devices.c.removed_at.is_(None))
    )


def app_by_token_hash(conn: Connection, token_hash: str) -> AppDevice | None:
    """The paired smsgate device whose bearer token hashes to `token_hash`."""
    row = conn.execute(_apps().where(devices.c.token_hash == token_hash)).first()
    return None if row is None else _app_device(row)


def app_by_pairing_hash(conn: Connection, pairing_hash: str) -> AppDevice | None:
    """The paired smsgate device whose pairing secret hashes to `pairing_hash`."""
    row = conn.execute(_apps().where(devices.c.pairing_hash == pairing_hash)).first()
    return None if row is None else _app_device(row)


def app_by_id(conn: Connection, device_id: int) -> AppDevice | None:
    row = conn.execute(_apps().where(devices.c.id == device_id)).first()
    return None if row is None else _app_device(row)


def register_app(
    conn: Connection,
    device_id: int,
    token_hash: str,
    push_token: str | None,
    app_info: str,
    now: datetime,
) -> None:
    """The app registered: its new bearer token replaces any earlier one."""
    conn.execute(
        update(devices)
        .where(devices.c.id == device_id)
        .values(token_hash=token_hash, push_token=push_token, app_info=app_info, last_seen_at=now)
    )


def update_app(
    conn: Connection, device_id: int, push_token: str | None, app_info: str | None
) -> None:
    """PATCH /device: the push token as the app has it now (None: it uses
    server-sent events), and its SIM cards when it sent them."""
    values: dict[str, Any] = {"push_token": push_token}
    if app_info is not None:
        values["app_info"] = app_info
    conn.execute(update(devices).where(devices.c.id == device_id).values(**values))


def app_info(conn: Connection, device_id: int) -> str | None:
    return conn.execute(select(devices.c.app_info).where(devices.c.id == device_id)).scalar()


def is_removed(conn: Connection, device_id: int) -> bool:
    removed = conn.execute(select(devices.c.removed_at).where(devices.c.id == device_id)).scalar()
    return removed is not None


def set_online(conn: Connection, device_id: int, node: str, now: datetime) -> None:
    conn.execute(
        update(devices).where(devices.c.id == device_id).values(online_node=node, last_seen_at=now)
    )


def set_offline(conn: Connection, device_id: int, node: str, now: datetime) -> None:
    # Only the node that holds the socket marks it offline: the device may
    # already have reconnected to another node.
    conn.execute(
        update(devices)
        .where(devices.c.id == device_id, devices.c.online_node == node)
        .values(online_node=None, last_seen_at=now)
    )


def record_ref(conn: Connection, device_id: int, ref: str, now: datetime) -> bool:
    """Record a report's ref; False when the device already sent it (a re-send)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(device_refs).on_conflict_do_nothing(index_elements=["device_id", "ref"])
    result = conn.execute(
        stmt.values(device_id=device_id, ref=ref, created_at=now).returning(device_refs.c.id)
    )
    return result.first() is not None
