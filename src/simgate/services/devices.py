"""Devices (phones, modems) paired to an account, each with its own token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, insert, select, update

from simgate.domain import ids
from simgate.domain.dates import utcnow
from simgate.errors import NotFound
from simgate.services.accounts import get_account
from simgate.store.tables import accounts, devices, messages

DEFAULT_RATE = 30  # SMS per minute: what a phone's carrier usually tolerates
# A node marks its devices seen at every heartbeat (20 s by default); a device
# not seen for this long is offline even if its node died without saying so.
STALE_AFTER = timedelta(seconds=90)


def is_online(online_node: str | None, last_seen_at: datetime | None, now: datetime) -> bool:
    return online_node is not None and last_seen_at is not None and now - last_seen_at < STALE_AFTER


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: int
    account_id: int
    account_email: str
    name: str
    rate_per_minute: int
    online: bool
    last_seen_at: datetime | None
    in_flight: int  # dispatched to it, waiting for the result


def add_device(
    engine: Engine, email: str, name: str, rate_per_minute: int = DEFAULT_RATE
) -> tuple[int, str]:
    """Pair a device; returns (device id, token in clear, shown once)."""
    if rate_per_minute < 1:
        raise ValueError("rate must be at least 1 SMS per minute")
    if not name.strip():
        raise ValueError("a device needs a name")
    token = ids.new_secret(ids.DEVICE_TOKEN_PREFIX)
    with engine.begin() as conn:
        account = get_account(conn, email)
        device_id = conn.execute(
            insert(devices).values(
                account_id=account.id,
                name=name.strip()[:120],
                token_hash=ids.hash_secret(token),
                rate_per_minute=rate_per_minute,
                created_at=utcnow(),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    return int(device_id), token


def list_devices(engine: Engine, email: str | None = None) -> list[DeviceInfo]:
    in_flight = (
        select(messages.c.device_id, func.count().label("n"))
        .where(messages.c.state == "dispatched")
        .group_by(messages.c.device_id)
        .subquery()
    )
    query = (
        select(devices, accounts.c.email, func.coalesce(in_flight.c.n, 0).label("in_flight"))
        .join(accounts, accounts.c.id == devices.c.account_id)
        .outerjoin(in_flight, in_flight.c.device_id == devices.c.id)
        .where(devices.c.removed_at.is_(None))
        .order_by(devices.c.id)
    )
    if email is not None:
        query = query.where(accounts.c.email == email.strip())
    now = utcnow()
    with engine.connect() as conn:
        return [
            DeviceInfo(
                r.id,
                r.account_id,
                r.email,
                r.name,
                r.rate_per_minute,
                is_online(r.online_node, r.last_seen_at, now),
                r.last_seen_at,
                r.in_flight,
            )
            for r in conn.execute(query)
        ]


def remove_device(engine: Engine, device_id: int, email: str | None = None) -> None:
    """Unpair: the token stops working at once (a connected device is closed)."""
    with engine.begin() as conn:
        query = update(devices).where(devices.c.id == device_id, devices.c.removed_at.is_(None))
        if email is not None:
            query = query.where(devices.c.account_id == get_account(conn, email).id)
        changed = conn.execute(query.values(removed_at=utcnow(), online_node=None)).rowcount
    if not changed:
        raise NotFound(f"no device {device_id}")
