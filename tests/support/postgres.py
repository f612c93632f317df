"""A PostgreSQL server for the tests: given by URL, or a throwaway cluster."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import create_engine, text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bindir() -> str | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return candidate
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


@dataclass
class PostgresCluster:
    admin_url: str  # postgresql://user@host:port/postgres
    datadir: str | None = None
    run_as: str | None = None
    bindir: str | None = None
    _admin: object = field(default=None, repr=False)

    def url(self, database: str) -> str:
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path="/" + database))

    def _execute(self, sql: str) -> None:
        engine = create_engine(
            self.admin_url.replace("postgresql://", "postgresql+psycopg://", 1),
            isolation_level="AUTOCOMMIT",
        )
        try:
            with engine.connect() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()

    def create_database(self, name: str, template: str | None = None) -> None:
        suffix = f" TEMPLATE {template}" if template else ""
        self._execute(f"CREATE DATABASE {name}{suffix}")

    def drop_database(self, name: str) -> None:
        self._execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def recreate_database(self, name: str) -> None:
        self.drop_database(name)
        self.create_database(name)

    def stop(self) -> None:
        if self.datadir and self.bindir:
            cmd = [
                os.path.join(self.bindir, "pg_ctl"),
                "-D",
                self.datadir,
                "-m",
                "immediate",
                "stop",
            ]
            _run(cmd, self.run_as, check=False)
            shutil.rmtree(os.path.dirname(self.datadir), ignore_errors=True)


def _run(cmd: list[str], user: str | None, check: bool = True) -> None:
    if user:
        cmd = ["runuser", "-u", user, "--", *cmd]
    subprocess.run(cmd, check=check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def find_cluster() -> PostgresCluster | None:
    url = os.environ.get("SIMGATE_TEST_POSTGRES_URL")
    if url:
        return PostgresCluster(admin_url=url)
    bindir = _bindir()
    if bindir is None:
        return None
    # PostgreSQL refuses to run as root; use the `postgres` system user then.
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return None
        run_as = "postgres"
    base = tempfile.mkdtemp(prefix="simgate-pg-")
    datadir = os.path.join(base, "data")
    if run_as:
        shutil.chown(base, user=run_as)
        os.chmod(base, 0o700)
    port = _free_port()
    _run(
        [
            os.path.join(bindir, "initdb"),
            "-D",
            datadir,
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        run_as,
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={base} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    _run(
        [
            os.path.join(bindir, "pg_ctl"),
            "-D",
            datadir,
            "-o",
            options,
            "-w",
            "-l",
            os.path.join(base, "log"),
            "start",
        ],
        run_as,
    )
    cluster = PostgresCluster(
        admin_url=f"postgresql://postgres@127.0.0.1:{port}/postgres",
        datadir=datadir,
        run_as=run_as,
        bindir=bindir,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            cluster._execute("SELECT 1")
            return cluster
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
