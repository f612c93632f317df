"""Accounts, access keys and authentication."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from simgate.domain import ids
from simgate.domain.dates import utcnow
from simgate.domain.numbers import is_valid_region
from simgate.errors import AuthError, NotFound
from simgate.store.tables import accounts, api_keys


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    email: str
    timezone: str
    region: str

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    id: int
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


def _account(row: object) -> Account:
    return Account(row.id, row.email, row.timezone, row.region)  # type: ignore[attr-defined]


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
        if conn.execute(select(accounts.c.id).where(accounts.c.email == email)).first():
            raise ValueError(f"an account {email} already exists")
        account_id = conn.execute(
            insert(accounts).values(
                email=email,
                timezone=timezone,
                region=region,
                password_hash=password_hash,
                created_at=utcnow(),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        key = _create_key(conn, account_id)
    return Account(account_id, email, timezone, region), key


def _create_key(conn: Connection, account_id: int) -> str:
    key = ids.new_secret(ids.ACCESS_KEY_PREFIX)
    conn.execute(
        insert(api_keys).values(
            account_id=account_id,
            prefix=key[:10],
            key_hash=ids.hash_secret(key),
            created_at=utcnow(),
        )
    )
    return key


def get_account(conn: Connection, email: str) -> Account:
    row = conn.execute(select(accounts).where(accounts.c.email == email.strip())).first()
    if row is None:
        raise NotFound(f"no account {email}")
    return _account(row)


def list_accounts(engine: Engine) -> list[Account]:
    with engine.connect() as conn:
        return [_account(r) for r in conn.execute(select(accounts).order_by(accounts.c.id))]


def create_key(engine: Engine, email: str) -> str:
    with engine.begin() as conn:
        return _create_key(conn, get_account(conn, email).id)


def list_keys(engine: Engine, email: str) -> list[KeyInfo]:
    with engine.connect() as conn:
        account = get_account(conn, email)
        rows = conn.execute(
            select(api_keys).where(api_keys.c.account_id == account.id).order_by(api_keys.c.id)
        )
        return [KeyInfo(r.id, r.prefix, r.created_at, r.revoked_at) for r in rows]


def revoke_key(engine: Engine, email: str, key_id: int) -> None:
    with engine.begin() as conn:
        account = get_account(conn, email)
        changed = conn.execute(
            update(api_keys)
            .where(
                api_keys.c.id == key_id,
                api_keys.c.account_id == account.id,
                api_keys.c.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        ).rowcount
    if not changed:
        raise NotFound(f"no active key {key_id} for {email}")


# Built once: this runs on every API request.
_ACTIVE_KEYS = (
    select(accounts.c.id, accounts.c.email, accounts.c.timezone, accounts.c.region)
    .add_columns(api_keys.c.key_hash)
    .join(api_keys, api_keys.c.account_id == accounts.c.id)
    .where(accounts.c.email == bindparam("login"), api_keys.c.revoked_at.is_(None))
)


def authenticate(conn: Connection, login: object, access_key: object) -> Account:
    """The account for (login, key); AuthError alike for unknown login and wrong key."""
    if not isinstance(login, str) or not isinstance(access_key, str):
        raise AuthError()
    if len(login) > 320 or "\x00" in login:  # no such login; PostgreSQL refuses NUL
        raise AuthError()
    # Hash first, always: the lookup costs the same whether the login exists.
    key_hash = ids.hash_secret(access_key)
    rows = conn.execute(_ACTIVE_KEYS, {"login": login.strip()}).all()
    match = None
    for row in rows:
        if ids.secret_matches_hash(key_hash, row.key_hash):
            match = row
    if match is None:
        raise AuthError()
    return _account(match)
