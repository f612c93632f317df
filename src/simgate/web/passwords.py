"""Dashboard passwords: argon2id hashes in accounts.password_hash."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, select, update

from simgate.errors import NotFound
from simgate.services import sessions
from simgate.store.tables import accounts

MIN_LENGTH = 8
MAX_LENGTH = 1024  # hashing a megabyte on every try would be a denial of service

_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) defaults
# Verified when the e-mail is unknown, so that a miss costs as much as a wrong password.
_DUMMY_HASH = _hasher.hash("simgate: no such account")


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise ValueError(f"the password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"the password may have at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def set_password(engine: Engine, email: str, password: str) -> None:
    """Set the account's password and sign all its browsers out (whoever knew the old one)."""
    hashed = hash_password(password)
    with engine.begin() as conn:
        account_id = conn.execute(
            select(accounts.c.id).where(accounts.c.email == email.strip())
        ).scalar()
        if account_id is None:
            raise NotFound(f"no account {email}")
        conn.execute(
            update(accounts).where(accounts.c.id == account_id).values(password_hash=hashed)
        )
        sessions.end_all(conn, account_id)
