"""`simgate accounts password` and `accounts create --password` on both stores.

Run in-process with click's runner (same code path as the command, a fraction
of the start-up cost of a subprocess per call).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from simgate import cli
from simgate.cli import main
from simgate.config import Settings
from simgate.errors import NotFound
from simgate.services.passwords import set_password, verify_password
from simgate.store.db import make_engine
from simgate.store.tables import accounts
from tests.support.servers import settings_env


def stored_hash(settings: Settings, email: str) -> str | None:
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            return conn.execute(
                select(accounts.c.password_hash).where(accounts.c.email == email)
            ).scalar()
    finally:
        engine.dispose()


@pytest.fixture
def engines(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Engine]]:
    """The commands' engines, closed after the test (a process would just exit)."""
    opened: list[Engine] = []
    real = cli.open_store

    def open_store(overrides: dict[str, Any]) -> Engine:
        opened.append(real(overrides))
        return opened[-1]

    monkeypatch.setattr(cli, "open_store", open_store)
    yield opened
    for engine in opened:
        engine.dispose()


def test_passwords_from_the_command_line(settings: Settings, engines: list[Engine]) -> None:
    runner = CliRunner()
    env = settings_env(settings)

    def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
        result = runner.invoke(main, list(args), input=stdin, env=env)
        return result.exit_code, result.output

    code, out = run("accounts", "create", "ops@example.com", "--password", "first password")
    assert code == 0, out
    assert "first password" not in out
    first = stored_hash(settings, "ops@example.com")
    assert first and first.startswith("$argon2id$") and verify_password(first, "first password")

    code, out = run("accounts", "password", "ops@example.com", stdin="second password\n")
    assert code == 0, out
    assert verify_password(stored_hash(settings, "ops@example.com"), "second password")

    code, out = run("accounts", "password", "ops@example.com", "--password", "short")
    assert code == 1 and "at least 8 characters" in out
    code, out = run("accounts", "password", "nobody@example.com", "--password", "long enough")
    assert code == 1 and "no account nobody@example.com" in out
    assert verify_password(stored_hash(settings, "ops@example.com"), "second password")
    assert len(engines) == 4


def test_set_password_needs_an_account(engine: Engine) -> None:
    with pytest.raises(NotFound, match="no account nobody@example.com"):
        set_password(engine, "nobody@example.com", "long enough pw")
