"""Every command that opens the store closes it: no pooled connection is left
open when a command ends (in-process, as scripts and tests run them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from simgate import runtime as runtime_module
from simgate.cli import main
from simgate.config import Settings
from simgate.store import db
from tests.support.servers import settings_env

EMAIL = "ops@example.com"
# In order: each may rely on what the ones before it created.
COMMANDS = [
    ["db", "upgrade"],
    ["accounts", "create", EMAIL, "--json"],
    ["accounts", "list"],
    ["accounts", "password", EMAIL, "--password", "a long enough password"],
    ["keys", "create", EMAIL],
    ["keys", "list", EMAIL],
    ["keys", "revoke", EMAIL, "1"],
    ["devices", "add", EMAIL, "--name", "phone"],
    ["devices", "list"],
    ["devices", "remove", "1"],
    ["devices", "add", "nobody@example.com", "--name", "phone"],  # fails, closes all the same
    ["accounts", "webhooks", EMAIL, "--status", "http://127.0.0.1:9/dlr"],
    ["accounts", "webhook-secret", EMAIL],
    ["webhooks", "list", EMAIL],
    ["webhooks", "replay", "--dead", EMAIL],
    ["serve"],
    ["serve", "--demo"],
]


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Engine]]:
    """Every engine a command makes; `serve` returns at once instead of serving."""
    engines: list[Engine] = []
    real = db.make_engine

    def tracked(settings: Settings) -> Engine:
        engines.append(engine := real(settings))
        return engine

    monkeypatch.setattr(db, "make_engine", tracked)
    monkeypatch.setattr(runtime_module, "make_engine", tracked)
    monkeypatch.setattr("simgate.serving.GracefulServer.run", lambda *args, **kwargs: None)
    yield engines


def test_every_store_command_disposes_its_engine(settings: Settings, opened: list[Engine]) -> None:
    environ: dict[str, str | None] = {**settings_env(settings)}
    environ.setdefault("SIMGATE_DATABASE_URL", None)  # unset for SQLite
    for args in COMMANDS:
        before = len(opened)
        result = CliRunner().invoke(main, args, env=environ)
        assert result.exception is None or isinstance(result.exception, SystemExit), result
        assert len(opened) > before, f"{args} opened no engine"
        for engine in opened[before:]:
            pool: Any = engine.pool
            # dispose() swaps in a fresh, empty pool; an engine left open keeps
            # its connections checked in, ready for reuse.
            assert (pool.checkedin(), pool.checkedout()) == (0, 0), f"{args} left it open"
