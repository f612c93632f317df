"""Queries on `accounts` and `api_keys`: the accounts, their keys, password
hashes, callback URLs and signing secrets.

Every function takes the caller's connection, so the caller's transaction
holds; times are passed in (naive UTC), never read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, insert, select, update

from simgate._wire import WEBHOOK_KINDS
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


_ACCOUNT = (accounts.c.id, accounts.c.email, accounts.c.timezone, accounts.c.region)


def email_taken(conn: Connection, email: str) -> bool:
    return conn.execute(select(accounts.c.id).where(accounts.c.email == email)).first() is not None


def insert_account(
    conn: Connection,
    email: str,
    timezone: str,
    region: str,
    password_hash: str | None,
    now: datetime,
) -> int:
    return int(
        conn.execute(
            insert(accounts).values(
                email=email,
                timezone=timezone,
                region=region,
                password_hash=password_hash,
                created_at=now,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    )


def insert_key(
    conn: Connection, account_id: int, prefix: str, key_hash: str, now: datetime
) -> None:
    conn.execute(
        insert(api_keys).values(
            account_id=account_id, prefix=prefix, key_hash=key_hash, created_at=now
        )
    )


def by_email(conn: Connection, email: str) -> Account | None:
    row = conn.execute(select(*_ACCOUNT).where(accounts.c.email == email)).first()
    return Account(*row) if row is not None else None


def by_ids(conn: Connection, account_ids: list[int]) -> dict[int, Account]:
    """Account id → account, in one query."""
    if not account_ids:
        return {}
    rows = conn.execute(select(*_ACCOUNT).where(accounts.c.id.in_(account_ids)))
    return {row.id: Account(*row) for row in rows}


def all_accounts(conn: Connection) -> list[Account]:
    return [Account(*row) for row in conn.execute(select(*_ACCOUNT).order_by(accounts.c.id))]


def keys_of(conn: Connection, account_id: int) -> list[KeyInfo]:
    rows = conn.execute(
        select(api_keys.c.id, api_keys.c.prefix, api_keys.c.created_at, api_keys.c.revoked_at)
        .where(api_keys.c.account_id == account_id)
        .order_by(api_keys.c.id)
    )
    return [KeyInfo(*row) for row in rows]


def revoke_key(conn: Connection, account_id: int, key_id: int, now: datetime) -> bool:
    """Revoke an active key of the account; False when it has no such key."""
    changed: int = conn.execute(
        update(api_keys)
        .where(
            api_keys.c.id == key_id,
            api_keys.c.account_id == account_id,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    ).rowcount
    return bool(changed)


# Built once: this runs on every API request.
_ACTIVE_KEYS = (
    select(*_ACCOUNT)
    .add_columns(api_keys.c.key_hash)
    .join(api_keys, api_keys.c.account_id == accounts.c.id)
    .where(accounts.c.email == bindparam("login"), api_keys.c.revoked_at.is_(None))
)


def active_keys(conn: Connection, login: str) -> list[tuple[Account, str]]:
    """The account of `login` once per active key, with that key's hash."""
    return [
        (Account(row.id, row.email, row.timezone, row.region), row.key_hash)
        for row in conn.execute(_ACTIVE_KEYS, {"login": login})
    ]


# --- passwords -------------------------------------------------------------------


def id_of(conn: Connection, email: str) -> int | None:
    found = conn.execute(select(accounts.c.id).where(accounts.c.email == email)).scalar()
    return int(found) if found is not None else None


def password_hash_of(conn: Connection, email: str) -> tuple[int, str | None] | None:
    """(account id, password hash or None) for `email`; None when there is no such account."""
    row = conn.execute(
        select(accounts.c.id, accounts.c.password_hash).where(accounts.c.email == email)
    ).first()
    return (int(row.id), row.password_hash) if row is not None else None


def set_password_hash(conn: Connection, account_id: int, password_hash: str) -> None:
    conn.execute(
        update(accounts).where(accounts.c.id == account_id).values(password_hash=password_hash)
    )


# --- webhook settings ------------------------------------------------------------


def callback_url(conn: Connection, account_id: int, kind: str) -> str | None:
    column = accounts.c[f"webhook_{kind}"]
    url: str | None = conn.execute(select(column).where(accounts.c.id == account_id)).scalar()
    return url


def callback_urls(conn: Connection, account_id: int) -> dict[str, str | None]:
    """Every kind's callback URL (None when unset)."""
    columns = [accounts.c[f"webhook_{kind}"] for kind in WEBHOOK_KINDS]
    row = conn.execute(select(*columns).where(accounts.c.id == account_id)).one()
    return dict(zip(WEBHOOK_KINDS, row, strict=True))


def webhook_settings(conn: Connection, account_id: int) -> tuple[dict[str, str | None], str | None]:
    """(every kind's callback URL, signing secret), in one query."""
    columns = [accounts.c[f"webhook_{kind}"] for kind in WEBHOOK_KINDS]
    *urls, secret = conn.execute(
        select(*columns, accounts.c.webhook_secret).where(accounts.c.id == account_id)
    ).one()
    return dict(zip(WEBHOOK_KINDS, urls, strict=True)), secret


def set_callback_urls(conn: Connection, account_id: int, urls: dict[str, str | None]) -> None:
    """Set some kinds' callback URLs (None clears one)."""
    values = {f"webhook_{kind}": url for kind, url in urls.items()}
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))


# Read with every batch of status changes: built once.
_STATUS_TARGET = select(accounts.c.email, accounts.c.webhook_status).where(
    accounts.c.id == bindparam("account_id")
)


def status_target(conn: Connection, account_id: int) -> tuple[str, str | None]:
    """(e-mail, `status` callback URL) of the account, for status webhooks."""
    row = conn.execute(_STATUS_TARGET, {"account_id": account_id}).one()
    return row.email, row.webhook_status


def webhook_secret(conn: Connection, account_id: int) -> str | None:
    secret: str | None = conn.execute(
        select(accounts.c.webhook_secret).where(accounts.c.id == account_id)
    ).scalar()
    return secret


def webhook_secrets(conn: Connection, account_ids: set[int]) -> dict[int, str | None]:
    rows = conn.execute(
        select(accounts.c.id, accounts.c.webhook_secret).where(accounts.c.id.in_(account_ids))
    )
    return {int(account_id): secret for account_id, secret in rows}


def set_webhook_secret(conn: Connection, account_id: int, secret: str | None) -> None:
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(webhook_secret=secret))
