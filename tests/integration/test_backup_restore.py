"""`simgate backup` and `simgate restore` on the SQLite store (docs/operations.md):
what they copy, what they refuse, and the lock between `restore` and `serve`.
The copy taken while a real server takes messages: tests/e2e/test_backup_under_load.py."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from simgate.cli_options import open_store
from simgate.config import Settings
from simgate.services.accounts import create_account
from simgate.store import store_lock
from simgate.store.db import head_revision, make_engine
from simgate.store.tables import accounts
from tests.support.cli import run_cli
from tests.support.servers import free_port, simgate


@pytest.fixture
def store(tmp_path: Path, sqlite_template: Path) -> Settings:
    """A migrated SQLite store with one account."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copyfile(sqlite_template, data_dir / "simgate.db")
    settings = Settings(data_dir=data_dir)
    engine = make_engine(settings)
    create_account(engine, "kept@example.com", "UTC", "FR")
    engine.dispose()
    return settings


def emails(settings: Settings) -> list[str]:
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(accounts.c.email).order_by(accounts.c.id)).scalars())
    finally:
        engine.dispose()


def fresh(tmp_path: Path, name: str) -> Settings:
    return Settings(data_dir=tmp_path / name)


def test_a_backup_is_one_whole_file_that_restores(store: Settings, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    result = run_cli("backup", str(copy), settings=store)
    assert result.exit_code == 0, result.output
    assert f"revision {head_revision()}" in result.output
    # Rollback-journal mode (header bytes 18-19 are 1, WAL's are 2): no -wal to carry along.
    assert copy.read_bytes()[18:20] == b"\x01\x01"
    assert not Path(f"{copy}-wal").exists()
    assert copy.stat().st_mode & 0o077 == 0  # the copy holds every secret hash: owner only

    target = fresh(tmp_path, "restored")
    result = run_cli("restore", str(copy), settings=target)
    assert result.exit_code == 0, result.output
    assert emails(target) == ["kept@example.com"]
    assert not list(target.data_dir.glob(".*tmp"))


def test_a_backup_never_overwrites_unless_forced(store: Settings, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    copy.write_bytes(b"older")
    result = run_cli("backup", str(copy), settings=store)
    assert result.exit_code == 1
    assert "exists; pass --force" in result.output
    assert copy.read_bytes() == b"older"
    assert run_cli("backup", "--force", str(copy), settings=store).exit_code == 0
    assert copy.read_bytes().startswith(b"SQLite format 3\x00")


def test_a_backup_needs_a_store(tmp_path: Path) -> None:
    result = run_cli("backup", str(tmp_path / "copy.db"), settings=fresh(tmp_path, "none"))
    assert result.exit_code == 1 and "no store at" in result.output
    assert not (tmp_path / "copy.db").exists()


def test_postgres_is_pointed_to_pg_dump(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="postgresql://u@127.0.0.1:1/simgate")
    for command in ("backup", "restore"):
        target = tmp_path / "copy.db"
        target.touch()
        result = run_cli(command, str(target), settings=settings)
        assert result.exit_code == 1
        assert "pg_dump --format=custom" in result.output
        assert "docs/operations.md" in result.output


def test_restore_keeps_the_replaced_store_aside(store: Settings, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    assert run_cli("backup", str(copy), settings=store).exit_code == 0
    engine = make_engine(store)
    create_account(engine, "after-the-backup@example.com", "UTC", "FR")
    engine.dispose()

    result = run_cli("restore", str(copy), settings=store)
    assert result.exit_code == 0, result.output
    assert emails(store) == ["kept@example.com"]
    (aside,) = store.data_dir.glob("simgate.db.replaced-*")
    assert f"kept as {aside}" in result.output
    kept = sqlite3.connect(aside)
    assert [row[0] for row in kept.execute("SELECT email FROM accounts ORDER BY id")] == [
        "kept@example.com",
        "after-the-backup@example.com",
    ]
    kept.close()


def test_restore_can_discard_the_replaced_store(store: Settings, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    assert run_cli("backup", str(copy), settings=store).exit_code == 0
    # A -wal and -shm left by a server that was killed belong to the old store:
    # the new one must not replay them.
    Path(f"{store.data_dir}/simgate.db-wal").write_bytes(b"\x00" * 64)
    Path(f"{store.data_dir}/simgate.db-shm").write_bytes(b"\x00" * 64)
    result = run_cli("restore", "--discard-replaced", str(copy), settings=store)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in store.data_dir.iterdir()) == ["simgate.db", "simgate.db.lock"]
    assert emails(store) == ["kept@example.com"]


def test_restore_refuses_what_is_not_a_sound_store(store: Settings, tmp_path: Path) -> None:
    before = (store.data_dir / "simgate.db").read_bytes()
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, just some words " * 200)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE things (x)").connection.close()
    newer = tmp_path / "newer.db"
    assert run_cli("backup", str(newer), settings=store).exit_code == 0
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    conn.close()

    for path, why in (
        (text, "is not a simgate store"),
        (other, "not a simgate store (no migration recorded)"),
        (newer, "made by a newer release"),
    ):
        result = run_cli("restore", str(path), settings=store)
        assert result.exit_code == 1, result.output
        assert why in result.output
    assert (store.data_dir / "simgate.db").read_bytes() == before
    assert not list(store.data_dir.glob("simgate.db.replaced-*"))


def test_restore_is_refused_while_a_server_holds_the_store(store: Settings, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    assert run_cli("backup", str(copy), settings=store).exit_code == 0
    db = store.data_dir / "simgate.db"
    with store_lock.serving(db):  # what `simgate serve` holds for its life
        result = run_cli("restore", str(copy), settings=store)
    assert result.exit_code == 1
    assert "another simgate command uses" in result.output and "stop it first" in result.output
    assert not list(store.data_dir.glob("simgate.db.replaced-*"))
    # Servers share the store among themselves; a restore excludes them.
    with store_lock.serving(db), store_lock.serving(db):
        pass
    with store_lock.replacing(db), pytest.raises(store_lock.StoreInUse, match="being restored"):
        with store_lock.serving(db):
            pass


def test_serve_refuses_to_start_during_a_restore(store: Settings) -> None:
    with store_lock.replacing(store.data_dir / "simgate.db"):
        # A real process: a `serve` that did start would hold the test until the timeout.
        result = simgate("serve", "--port", str(free_port()), settings=store, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "is being restored" in result.stderr


def test_other_commands_hold_the_store_against_a_restore(store: Settings, tmp_path: Path) -> None:
    db = store.data_dir / "simgate.db"
    # During a restore, a command that would write to the file being replaced refuses to start...
    with store_lock.replacing(db):
        refused = run_cli("accounts", "create", "late@example.com", settings=store)
    assert refused.exit_code == 1
    assert "is being restored" in refused.output
    assert emails(store) == ["kept@example.com"]
    # ...and holds the lock while it runs, so a restore cannot start under it.
    restore_during: list[str] = []

    @click.command()
    def command() -> None:
        open_store({"data_dir": store.data_dir})
        try:
            with store_lock.replacing(db):
                restore_during.append("started")
        except store_lock.StoreInUse as exc:
            restore_during.append(str(exc))

    assert CliRunner().invoke(command).exit_code == 0
    assert "stop it first" in restore_during[0]
    with store_lock.replacing(db):  # released once the command ended
        pass


def test_the_store_kept_aside_holds_what_its_wal_held(store: Settings, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    assert run_cli("backup", str(copy), settings=store).exit_code == 0
    # A server killed after a commit: the row is in simgate.db-wal only.
    db = store.data_dir / "simgate.db"
    killed = (
        "import os, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('PRAGMA journal_mode=WAL')\n"
        "conn.execute(\"UPDATE accounts SET region = 'BE'\")\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", killed, str(db)], check=True, timeout=30)
    assert Path(f"{db}-wal").stat().st_size > 0

    result = run_cli("restore", str(copy), settings=store)
    assert result.exit_code == 0, result.output
    (aside,) = store.data_dir.glob("simgate.db.replaced-*")
    kept = sqlite3.connect(aside)
    assert kept.execute("SELECT region FROM accounts").fetchall() == [("BE",)]
    kept.close()
    restored = sqlite3.connect(db)
    assert restored.execute("SELECT region FROM accounts").fetchall() == [("FR",)]
    restored.close()
