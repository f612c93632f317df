"""A PostgreSQL store goes through the real pg_dump and pg_restore as
docs/operations.md shows them (custom format), and comes back whole: every
row of every table, the migration it is at, and sequences and triggers that
keep working."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from simgate.config import Settings
from simgate.services.accounts import create_account
from simgate.services.messages import accept_messages
from simgate.store.db import head_revision, make_engine, schema_revision
from simgate.store.tables import messages, metadata
from tests.support.postgres import PostgresCluster, _bindir


def tool(postgres: PostgresCluster, name: str) -> str:
    folder = postgres.bindir or _bindir()
    path = os.path.join(folder, name) if folder else shutil.which(name)
    if not path or not os.path.exists(path):
        pytest.skip(f"{name} not installed")
    return path


@pytest.fixture
def databases(
    postgres: PostgresCluster | None, postgres_template: str | None
) -> Iterator[tuple[PostgresCluster, str, str]]:
    """A migrated database and an empty one."""
    if postgres is None or postgres_template is None:
        pytest.skip("PostgreSQL not available")
    source, target = "dump_" + secrets.token_hex(5), "restored_" + secrets.token_hex(5)
    postgres.create_database(source, template=postgres_template)
    postgres.create_database(target)
    yield postgres, source, target
    postgres.drop_database(source)
    postgres.drop_database(target)


def every_row(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Each table's rows, in key order (or sorted, for a table without a key)."""
    found = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            key = list(table.primary_key.columns)
            rows = [tuple(row) for row in conn.execute(select(table).order_by(*key))]
            found[table.name] = rows if key else sorted(rows, key=repr)
    return found


def test_pg_dump_and_pg_restore_keep_every_row(
    databases: tuple[PostgresCluster, str, str], tmp_path: Path
) -> None:
    postgres, source, target = databases
    source_engine = make_engine(Settings(database_url=postgres.url(source)))
    target_engine = make_engine(Settings(database_url=postgres.url(target)))
    try:
        account, _ = create_account(source_engine, "ops@example.com", "UTC", "FR")
        items = [
            {"phone_number": f"+3361234{i:04d}", "message": f"n°{i} [Lien_Tracking]",
             "url": "https://example.com/"}
            for i in range(30)
        ]  # fmt: skip
        accept_messages(source_engine, account, items, "https://sms.example.com")
        dump = tmp_path / "simgate.dump"

        subprocess.run(
            [tool(postgres, "pg_dump"), "--format=custom", f"--file={dump}", postgres.url(source)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        subprocess.run(
            [tool(postgres, "pg_restore"), "--no-owner", "--exit-on-error",
             f"--dbname={postgres.url(target)}", str(dump)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

        before = every_row(source_engine)
        assert len(before["messages"]) == 30 and before["message_count_deltas"]
        assert every_row(target_engine) == before
        assert schema_revision(target_engine) == head_revision()
        # Sequences came along (new ids follow the old), and so did the
        # triggers that keep the rollups.
        more, _ = accept_messages(target_engine, account, items[:1], "https://sms.example.com")
        assert more[0]["sent"] == 1
        with target_engine.connect() as conn:
            newest = conn.execute(select(func.max(messages.c.id))).scalar_one()
            assert newest == max(row[0] for row in before["messages"]) + 1
        counted = every_row(target_engine)["message_count_deltas"]
        assert sum(int(str(row[-1])) for row in counted) == len(items) + 1
    finally:
        source_engine.dispose()
        target_engine.dispose()
