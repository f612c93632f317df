"""Accounts, access keys and authentication."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import anyio.to_thread
from sqlalchemy import Connection, Engine

from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.domain import ids
from simgate.domain.numbers import is_valid_region
from simgate.errors import AuthError, NotFound
from simgate.logs import bind_account
from simgate.services import access_cache
from simgate.store import accounts as store
from simgate.store.accounts import Account, KeyInfo
from simgate.store.db import reading

__all__ = [
    "Account",
    "KeyInfo",
    "authenticate",
    "authenticate_request",
    "cached_account",
    "create_account",
    "create_key",
    "get_account",
    "list_accounts",
    "list_keys",
    "normalise_email",
    "revoke_key",
]


def normalise_email(email: str) -> str:
    email = email.strip()
    if "@" not in email or len(email) > 320:
        raise ValueError(f"not an e-mail address: {email!r}")
    return email


def create_account(
    engine: Engine,
    email: str,
    timezone: str = "Europe/Paris",
    region: str = "FR",
    password_hash: str | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> tuple[Account, str]:
    """Create an account with its first access key; returns the key in clear, once."""
    email = normalise_email(email)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {timezone!r} (use an IANA name like Europe/Paris)"
        ) from None
    region = region.upper()
    if not is_valid_region(region):
        raise ValueError(f"unknown region {region!r} (use a two-letter country code like FR)")
    with engine.begin() as conn:
        if store.email_taken(conn, email):
            raise ValueError(f"an account {email} already exists")
        now = clock.now()
        account_id = store.insert_account(conn, email, timezone, region, password_hash, now)
        key = _create_key(conn, account_id, now)
    return Account(account_id, email, timezone, region), key


def _create_key(conn: Connection, account_id: int, now: datetime) -> str:
    key = ids.new_secret(ids.ACCESS_KEY_PREFIX)
    store.insert_key(conn, account_id, key[:10], ids.hash_secret(key), now)
    return key


def get_account(conn: Connection, email: str) -> Account:
    account = store.by_email(conn, email.strip())
    if account is None:
        raise NotFound(f"no account {email}")
    return account


def list_accounts(engine: Engine) -> list[Account]:
    with reading(engine) as conn:
        return store.all_accounts(conn)


def create_key(engine: Engine, email: str, clock: Clock = SYSTEM_CLOCK) -> str:
    with engine.begin() as conn:
        return _create_key(conn, get_account(conn, email).id, clock.now())


def list_keys(engine: Engine, email: str) -> list[KeyInfo]:
    with reading(engine) as conn:
        return store.keys_of(conn, get_account(conn, email).id)


def revoke_key(engine: Engine, email: str, key_id: int, clock: Clock = SYSTEM_CLOCK) -> None:
    with engine.begin() as conn:
        changed = store.revoke_key(conn, get_account(conn, email).id, key_id, clock.now())
    if not changed:
        raise NotFound(f"no active key {key_id} for {email}")


def _credentials(login: object, access_key: object) -> tuple[str, str]:
    """(login as looked up, hash of the key); AuthError for what no account can match."""
    if not isinstance(login, str) or not isinstance(access_key, str):
        raise AuthError()
    if len(login) > 320 or "\x00" in login:  # no such login; PostgreSQL refuses NUL
        raise AuthError()
    return login.strip(), ids.hash_secret(access_key)


def authenticate(conn: Connection, login: object, access_key: object) -> Account:
    """The account for (login, key); AuthError alike for unknown login and wrong key.

    A pair that matched within the last second is answered from the access
    cache (services/access_cache: a revocation on this node takes effect at
    once, elsewhere within a second); a wrong key is always checked."""
    # Hash first, always: the lookup costs the same whether the login exists.
    login, key_hash = _credentials(login, access_key)
    cache = access_cache.of(conn.engine)
    usable = cache.usable(conn)
    if usable and (found := cache.account(login, key_hash)) is not None:
        return found
    generation = cache.generation()
    match = None
    for account, stored_hash in store.active_keys(conn, login):
        if ids.secret_matches_hash(key_hash, stored_hash):
            match = account
    if match is None:
        raise AuthError()
    if usable:
        cache.put_account(login, key_hash, match, generation)
    return match


def cached_account(engine: Engine, login: object, access_key: object) -> Account | None:
    """The account for (login, key) if the access cache knows it, else None
    (then `authenticate` in a transaction tells)."""
    try:
        login, key_hash = _credentials(login, access_key)
    except AuthError:
        return None
    return access_cache.of(engine).account(login, key_hash)


async def authenticate_request(engine: Engine, login: object, access_key: object) -> Account:
    """`authenticate` for an API request, in a read of its own unless the
    access cache knows the pair.

    A read (store.db.reading), not a transaction of the writer: on SQLite a
    request that missed the cache neither waits for the batch the writer is
    committing nor holds the next one back. A key revoked on this node is
    committed before the revoking request answers, so later reads see it.
    """
    account = cached_account(engine, login, access_key)
    if account is None:
        account = await anyio.to_thread.run_sync(_authenticate_reading, engine, login, access_key)
    bind_account(account.id)  # the request's log lines name it
    return account


def _authenticate_reading(engine: Engine, login: object, access_key: object) -> Account:
    with reading(engine) as conn:
        return authenticate(conn, login, access_key)
