"""Devices (phones, modems) paired to an account, each with its own token,
and their presence while their socket (or, for an SMS Gateway app, its
event stream) is open.

Two kinds: an `agent` gets its token at pairing; an `smsgate` app gets a
pairing secret (its "Private Token") and receives its own token when it
registers with it (services/mobile.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.domain import ids
from simgate.domain.policy import MAX_SIM
from simgate.errors import NotFound
from simgate.services.accounts import Account, get_account
from simgate.services.dispatch import WAKE_OPTION
from simgate.store import devices as store
from simgate.store import in_flight
from simgate.store import messages as message_store
from simgate.store.db import reading
from simgate.store.devices import DeviceRow

DEFAULT_RATE = 30  # SMS per minute: what a phone's carrier usually tolerates
KINDS = ("agent", "smsgate")
SIGNING_KEY_LENGTH = 32  # base62: the key the app signs its webhooks with
# A node marks its devices seen at every heartbeat (20 s by default); a device
# not seen for this long is offline even if its node died without saying so.
STALE_AFTER = timedelta(seconds=90)


def seen_after(now: datetime) -> datetime:
    """Devices seen after this moment are online (store.devices.is_online)."""
    return now - STALE_AFTER


def add_device(
    engine: Engine,
    email: str,
    name: str,
    rate_per_minute: int = DEFAULT_RATE,
    kind: str = "agent",
    sim_number: int | None = None,
    *,
    clock: Clock = SYSTEM_CLOCK,
) -> tuple[int, str]:
    """Pair a device; returns (device id, secret in clear, shown once): an
    agent's token, or an smsgate app's pairing secret (its "Private Token")."""
    if rate_per_minute < 1:
        raise ValueError("rate must be at least 1 SMS per minute")
    if not name.strip():
        raise ValueError("a device needs a name")
    if kind not in KINDS:
        raise ValueError(f"a device is one of {', '.join(KINDS)}")
    if sim_number is not None and (kind != "smsgate" or not 1 <= sim_number <= 3):
        raise ValueError("a SIM number (1 to 3) is for smsgate devices")
    pairing_hash = signing_key = None
    if kind == "agent":
        secret = ids.new_secret(ids.DEVICE_TOKEN_PREFIX)
        token_hash = ids.hash_secret(secret)
    else:
        secret = ids.pairing_secret()
        pairing_hash = ids.hash_secret(secret)
        signing_key = ids.base62(SIGNING_KEY_LENGTH)
        # The app's own token comes when it registers; until then none works.
        token_hash = ids.hash_secret(ids.new_secret(ids.DEVICE_TOKEN_PREFIX))
    with engine.begin() as conn:
        account = get_account(conn, email)
        device_id = store.insert_device(
            conn,
            account.id,
            name.strip()[:120],
            token_hash,
            rate_per_minute,
            clock.now(),
            kind=kind,
            pairing_hash=pairing_hash,
            signing_key=signing_key,
            sim_number=sim_number,
        )
    return device_id, secret


def list_devices(
    engine: Engine, email: str | None = None, clock: Clock = SYSTEM_CLOCK
) -> list[DeviceRow]:
    with reading(engine) as conn:
        email = email.strip() if email is not None else None
        return store.paired(conn, seen_after(clock.now()), email)


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
    """(device id, rate per minute, account) for a live agent token, else None."""
    with reading(engine) as conn:
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


def connected(
    engine: Engine,
    device_id: int,
    node: str,
    clock: Clock = SYSTEM_CLOCK,
    sims: tuple[int, ...] | None = None,
) -> None:
    """The device's socket opened on `node`, with the SIM slots its hello
    declared (None: it did not say; slot 1 only)."""
    with engine.begin() as conn:
        # A phone more: its commit wakes the dispatcher (workers/dispatcher.py).
        conn.execution_options(**{WAKE_OPTION: True})
        store.set_online(conn, device_id, node, clock.now())
        store.set_sims(conn, device_id, sims)


def set_default_sim(engine: Engine, email: str, device_id: int, sim: int | None) -> None:
    """The SIM the device sends from when a message names none (None: the
    phone's own choice); raises ValueError for a slot out of 1-8, NotFound for
    a device the account does not have."""
    if sim is not None and not 1 <= sim <= MAX_SIM:
        raise ValueError(f"a SIM slot is a number from 1 to {MAX_SIM}")
    with engine.begin() as conn:
        account = get_account(conn, email)
        # Its commit wakes the dispatcher: messages for that slot may go now.
        conn.execution_options(**{WAKE_OPTION: True})
        if not store.set_default_sim(conn, device_id, account.id, sim):
            raise NotFound(f"no device {device_id}")


def unacked(engine: Engine, device_ids: list[int]) -> int:
    """Messages handed to these devices and not acknowledged yet (a stopping
    node waits for them before it closes the sockets)."""
    with reading(engine) as conn:
        return in_flight.unacked(conn, device_ids)


def disconnected(engine: Engine, device_id: int, node: str, clock: Clock = SYSTEM_CLOCK) -> int:
    """The device's socket on `node` closed: what it had not acked goes back to
    the queue at once. Returns how many messages went back."""
    with engine.begin() as conn:
        store.set_offline(conn, device_id, node, clock.now())
        return message_store.release_unacked(conn, device_id)
