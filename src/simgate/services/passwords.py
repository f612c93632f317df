"""Dashboard passwords: argon2id hashes in accounts.password_hash, and sign-in checks."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine

from simgate.errors import NotFound
from simgate.services import sessions
from simgate.store import accounts as store
from simgate.store.db import reading

MIN_LENGTH = 8
MAX_LENGTH = 1024  # hashing a megabyte on every try would be a denial of service

_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) defaults


@cache
def _dummy_hash() -> str:
    """Verified when the e-mail is unknown, so that a miss costs as much as a
    wrong password. Made on first use: hashing costs a fifth of a CPU second,
    which every command and server start paid on import."""
    return _hasher.hash("simgate: no such account")


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
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_sign_in(engine: Engine, email: str, password: str) -> int | None:
    """The account id if `password` is the account's, else None (unknown e-mail alike)."""
    with reading(engine) as conn:
        found = store.password_hash_of(conn, email)
    # verify_password runs argon2 even for an unknown e-mail: same cost, no hint.
    ok = verify_password(found[1] if found else None, password)
    return found[0] if ok and found is not None else None


def set_password(engine: Engine, email: str, password: str) -> None:
    """Set the account's password and sign all its browsers out (whoever knew the old one)."""
    hashed = hash_password(password)
    with engine.begin() as conn:
        account_id = store.id_of(conn, email.strip())
        if account_id is None:
            raise NotFound(f"no account {email}")
        store.set_password_hash(conn, account_id, hashed)
        sessions.end_all(conn, account_id)
