"""`simgate accounts password` and `accounts create --password`, as real processes."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from simgate.config import Settings
from simgate.errors import NotFound
from simgate.store.db import make_engine
from simgate.store.tables import accounts
from simgate.web.passwords import set_password, verify_password
from tests.support.servers import simgate


def stored_hash(settings: Settings, email: str) -> str | None:
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            return conn.execute(
                select(accounts.c.password_hash).where(accounts.c.email == email)
            ).scalar()
    finally:
        engine.dispose()


def test_passwords_from_the_command_line(settings: Settings) -> None:
    created = simgate(
        "accounts", "create", "ops@example.com", "--password", "first password", settings=settings
    )
    assert created.returncode == 0, created.stderr
    assert "first password" not in created.stdout + created.stderr
    first = stored_hash(settings, "ops@example.com")
    assert first and first.startswith("$argon2id$") and verify_password(first, "first password")

    piped = simgate(
        "accounts", "password", "ops@example.com", settings=settings, input="second password\n"
    )
    assert piped.returncode == 0, piped.stderr
    assert verify_password(stored_hash(settings, "ops@example.com"), "second password")

    short = simgate(
        "accounts", "password", "ops@example.com", "--password", "short", settings=settings
    )
    assert short.returncode == 1 and "at least 8 characters" in short.stderr


def test_set_password_needs_an_account(engine: Engine) -> None:
    with pytest.raises(NotFound, match="no account nobody@example.com"):
        set_password(engine, "nobody@example.com", "long enough pw")
