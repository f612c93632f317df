"""Shared fixtures: real stores (SQLite file and PostgreSQL), real servers.

PostgreSQL: SIMGATE_TEST_POSTGRES_URL points at a server whose user may create
databases; otherwise the suite starts a throwaway cluster with the local
binaries (initdb/pg_ctl). Where neither exists the PostgreSQL half of each
storage test is skipped with a message saying so; CI sets
SIMGATE_REQUIRE_POSTGRES=1 so that a missing server fails instead.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, profiles
from sqlalchemy import Engine

from simgate.config import Settings
from simgate.services import passwords
from simgate.store.db import make_engine, upgrade
from tests.support.postgres import PostgresCluster, find_cluster
from tests.support.servers import LiveServer

ENGINES = ["sqlite", "postgres"]

# Dashboard passwords hash at argon2's cheapest cost inside the test processes:
# the production cost (a fifth of a CPU second a hash or check) made a tenth of
# the suite's CPU. The tests of that cost run a server process, which keeps it.
passwords._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Modules that start real processes (marked e2e) run first. Under
    pytest-xdist (see pyproject's addopts) each module is one worker's work,
    handed out in this order: a long module left for the end would run alone
    while the other workers have nothing to do.

    A test marked `client_side` shows what a client does with the answers
    (the official insim client's output, the SDK's parsing): its PostgreSQL
    run would show nothing more than its SQLite one, so it is left out."""
    on_postgres = [item for item in items if _client_side_on_postgres(item)]
    if on_postgres:
        config.hook.pytest_deselected(items=on_postgres)
        items[:] = [item for item in items if item not in on_postgres]
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)


def _client_side_on_postgres(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return (
        item.get_closest_marker("client_side") is not None
        and callspec is not None
        and "postgres" in callspec.params.values()
    )


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster | None]:
    cluster = find_cluster()
    yield cluster
    if cluster is not None:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres: PostgresCluster | None) -> str | None:
    """A migrated database that each test copies (CREATE DATABASE ... TEMPLATE)."""
    if postgres is None:
        return None
    name = "simgate_template"
    postgres.recreate_database(name)
    engine = make_engine(Settings(database_url=postgres.url(name)))
    upgrade(engine)
    engine.dispose()
    return name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite store that each test copies: running the migrations
    costs a third of a CPU second and a dozen fsyncs per store, a copy nothing."""
    data_dir = tmp_path_factory.mktemp("sqlite-template") / "data"
    engine = make_engine(Settings(data_dir=data_dir))
    upgrade(engine)
    engine.dispose()  # the last connection out checkpoints the WAL into the file
    path = data_dir / "simgate.db"
    assert not (data_dir / "simgate.db-wal").exists()
    return path


def _skip_without_postgres() -> None:
    message = (
        "PostgreSQL not available: set SIMGATE_TEST_POSTGRES_URL or install the "
        "postgresql server binaries (initdb, pg_ctl)"
    )
    if os.environ.get("SIMGATE_REQUIRE_POSTGRES") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(params=ENGINES)
def settings(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    postgres: PostgresCluster | None,
    postgres_template: str | None,
    sqlite_template: Path,
) -> Iterator[Settings]:
    """Settings on a fresh, migrated store: once on SQLite, once on PostgreSQL."""
    yield from _store_settings(
        request.param, tmp_path / "data", postgres, postgres_template, sqlite_template
    )


def _store_settings(
    engine_name: str,
    data_dir: Path,
    postgres: PostgresCluster | None,
    postgres_template: str | None,
    sqlite_template: Path,
) -> Iterator[Settings]:
    if engine_name == "sqlite":
        data_dir.mkdir(parents=True)
        shutil.copyfile(sqlite_template, data_dir / "simgate.db")
        yield Settings(data_dir=data_dir, allow_private_callbacks=True)
        return
    if postgres is None:
        _skip_without_postgres()
    assert postgres is not None and postgres_template is not None
    name = "t_" + secrets.token_hex(6)
    postgres.create_database(name, template=postgres_template)
    yield Settings(data_dir=data_dir, database_url=postgres.url(name), allow_private_callbacks=True)
    postgres.drop_database(name)


@pytest.fixture(scope="module", params=ENGINES)
def shared_settings(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres: PostgresCluster | None,
    postgres_template: str | None,
    sqlite_template: Path,
) -> Iterator[Settings]:
    """Settings on one fresh, migrated store per test module and engine."""
    data_dir = tmp_path_factory.mktemp("shared") / "data"
    yield from _store_settings(
        request.param, data_dir, postgres, postgres_template, sqlite_template
    )


@pytest.fixture(scope="module")
def shared_server(shared_settings: Settings) -> Iterator[LiveServer]:
    """One real server per test module and store, for tests that do not need a
    fresh store (each makes its own account): starting a server per test is
    most of the suite's time."""
    with LiveServer(shared_settings) as live:
        yield live


@pytest.fixture
def shared_account(shared_server: LiveServer) -> dict[str, Any]:
    """A fresh account on the module's shared server (Europe/Paris, FR)."""
    from simgate.services.accounts import create_account

    email = f"{secrets.token_hex(5)}@example.com"
    acc, key = create_account(shared_server.engine, email, "Europe/Paris", "FR")
    return {"login": acc.email, "accessKey": key, "id": acc.id}


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    """The real app under uvicorn on a loopback port, in this process."""
    with LiveServer(settings) as live:
        yield live


@pytest.fixture
def account(server: LiveServer) -> dict[str, Any]:
    from simgate.services.accounts import create_account

    acc, key = create_account(server.engine, "user@example.com", "Europe/Paris", "FR")
    return {"login": acc.email, "accessKey": key, "id": acc.id}
