"""Devices (phones, modems) paired to an account, each with its own token,
and their presence while their socket is open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.domain import ids
from simgate.errors import NotFound
from simgate.services.accounts import Account, get_account
from simgate.services.dispatch import WAKE_OPTION
from simgate.store import devices as store
from simgate.store import messages as message_store

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
    engine: Engine,
    email: str,
    name: str,
    rate_per_minute: int = DEFAULT_RATE,
    clock: Clock = SYSTEM_CLOCK,
) -> tuple[int, str]:
    """Pair a device; returns (device id, token in clear, shown once)."""
    if rate_per_minute < 1:
        raise ValueError("rate must be at least 1 SMS per minute")
    if not name.strip():
        raise ValueError("a device needs a name")
    token = ids.new_secret(ids.DEVICE_TOKEN_PREFIX)
    with engine.begin() as conn:
        account = get_account(conn, email)
        device_id = store.insert_device(
            conn,
            account.id,
            name.strip()[:120],
            ids.hash_secret(token),
            rate_per_minute,
            clock.now(),
        )
    return device_id, token


def list_devices(
    engine: Engine, email: str | None = None, clock: Clock = SYSTEM_CLOCK
) -> list[DeviceInfo]:
    now = clock.now()
    with engine.connect() as conn:
        rows = store.paired(conn, email.strip() if email is not None else None)
    return [
        DeviceInfo(
            r.id,
            r.account_id,
            r.account_email,
            r.name,
            r.rate_per_minute,
            is_online(r.online_node, r.last_seen_at, now),
            r.last_seen_at,
            r.in_flight,
        )
        for r in rows
    ]


def remove_device(
    engine: Engine, device_id: int, email: str | None = None, clock: Clock = SYSTEM_CLOCK
) -> None:
    """Unpair: the token stops working at once (a connected device is closed)."""
    with engine.begin() as conn:
        account_id = get_account(conn, email).id if email is not None else None
        changed = store.mark_removed(conn, device_id, clock.now(), account_id)
    if not changed:
        raise NotFound(f"no device {device_id}")


# --- presence (the device socket, api/devices.py) --------------------------------


def find_by_token(engine: Engine, token: str) -> tuple[int, int, Account] | None:
    """(device id, rate per minute, account) for a live token, else None."""
    with engine.connect() as conn:
        return store.by_token_hash(conn, ids.hash_secret(token))


def still_paired(
    engine: Engine, device_id: int, node: str | None, clock: Clock = SYSTEM_CLOCK
) -> bool:
    """Heartbeat bookkeeping: is the device still paired? Also marks it seen
    (online on `node`) unless `node` is None."""
    with engine.begin() as conn:
        if store.is_removed(conn, device_id):
            return False
        if node is not None:
            store.set_online(conn, device_id, node, clock.now())
    return True


def connected(engine: Engine, device_id: int, node: str, clock: Clock = SYSTEM_CLOCK) -> None:
    """The device's socket opened on `node`."""
    with engine.begin() as conn:
        # A phone more: its commit wakes the dispatcher (workers/dispatcher.py).
        conn.execution_options(**{WAKE_OPTION: True})
        store.set_online(conn, device_id, node, clock.now())


def disconnected(engine: Engine, device_id: int, node: str, clock: Clock = SYSTEM_CLOCK) -> int:
    """The device's socket on `node` closed: what it had not acked goes back to
    the queue at once. Returns how many messages went back."""
    with engine.begin() as conn:
        store.set_offline(conn, device_id, node, clock.now())
        return message_store.release_unacked(conn, device_id)
