"""The migrations build exactly the schema that store/tables.py declares."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, select, text

from simgate.store.db import alembic_config
from simgate.store.tables import contacts, metadata

# Indexes with an expression (a DESC column) that alembic can only compare
# approximately (it reports them as changed): checked by name and plan instead.
EXPRESSION_INDEXES = {"ix_messages_queue"}


def test_migrations_match_the_tables(engine: Engine) -> None:
    def compared(obj: Any, name: str | None, kind: str, *_: Any) -> bool:
        return not (kind == "index" and name in EXPRESSION_INDEXES)

    with engine.connect() as conn:
        opts = {"compare_type": True, "include_object": compared}
        context = MigrationContext.configure(conn, opts=opts)
        assert compare_metadata(context, metadata) == []
        names = {index["name"] for index in inspect(conn).get_indexes("messages")}
    assert EXPRESSION_INDEXES <= names


def test_upgrade_to_0006_keeps_contacts_and_folds_their_names(tmp_path: Path) -> None:
    """A store made before v2 keeps its contacts, which become searchable."""
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config(engine)
    command.upgrade(config, "0005")
    now = datetime(2026, 1, 1)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO accounts (id, email, timezone, region, created_at)"
                " VALUES (1, 'a@example.com', 'Europe/Paris', 'FR', :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO contacts (account_id, phone_number, firstname, lastname, address,"
                " email, created_at, updated_at)"
                " VALUES (1, '+33612345678', 'Cécile', 'DUBOIS', '', '', :now, :now)"
            ),
            {"now": now},
        )
    command.upgrade(config, "head")
    with engine.connect() as conn:
        row = conn.execute(select(contacts)).one()
    assert (row.firstname, row.search_name, row.pro, row.deleted_at) == (
        "Cécile",
        "cecile dubois",
        False,
        None,
    )
    engine.dispose()
