"""Accept latency while the pruner empties a store of old delivered webhooks.

Seeds a store with `--rows` delivered webhooks old enough to prune (1 million by
default, executemany in big transactions), then runs a real `simgate serve` on
it in two ways and measures single-message POST /api/v1/sendsms requests, one
after another on one keep-alive connection, for `--seconds` each:

1. idle: pruning off (SIMGATE_RETENTION_WEBHOOKS_DONE_DAYS=0), the same rows stored;
2. pruning: the default retention, so the pruner deletes from its start.

The phases alternate over `--rounds` (a fresh server each) and their latencies
are pooled, so that load from other work on the machine, which drifts, lands
on both. It prints p50/p99 of both, their ratio, and the pruner's throughput
over the measured windows (rows gone / seconds); `--until-done` also waits, in
the last round, for the last row to go. The pruner must not finish inside a
window, or that phase is partly idle: it says so if that happens.
`--flat-out` then times `simgate prune` at full speed on the rest, with no
server running. Only loopback is used.

    .venv/bin/python bench/prune.py                       # SQLite, 1M rows, 60 s each
    .venv/bin/python bench/prune.py --rows 200000 --seconds 10
    .venv/bin/python bench/prune.py --database-url postgresql://user@127.0.0.1:5432/db

Extra SIMGATE_* variables in the environment (batch size, pause) reach both
servers, so settings can be compared without editing code.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _support import cli

from simgate.config import Settings
from simgate.domain import ids
from simgate.testing import ServerProcess

SEED_CHUNK = 50_000  # rows per executemany; each chunk its own transaction
COLUMNS = (
    "event_id, account_id, kind, url, payload, state, attempts, "
    "next_attempt_at, created_at, done_at, last_status"
)


class Store:
    """A DBAPI connection to the bench store: SQLite file or PostgreSQL URL."""

    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        if database_url:
            import psycopg

            self.conn: Any = psycopg.connect(database_url)
            self.mark = "%s"
        else:
            self.conn = sqlite3.connect(data_dir / "simgate.db", isolation_level=None)
            self.conn.execute("PRAGMA synchronous=OFF")  # seeding only
            self.mark = "?"

    def seed(self, account_id: int, rows: int, days_old: int, random_ids: bool) -> None:
        done_at = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days_old)
        url = "https://hooks.example.com/simgate/status?token=abcdef"
        sql = f"INSERT INTO webhooks ({COLUMNS}) VALUES ({', '.join([self.mark] * 11)})"
        cursor = self.conn.cursor()
        for start in range(0, rows, SEED_CHUNK):
            batch = []
            for i in range(start, min(rows, start + SEED_CHUNK)):
                at = done_at + timedelta(milliseconds=i)
                payload = json.dumps(
                    {
                        "id_sms_api": f"campaign-{i}",
                        "phone_number": f"+336{12000000 + i % 5000:08d}",
                        "status": "received",
                        "date_status": at.isoformat(timespec="milliseconds") + "Z",
                        "user": "bench@example.com",
                    }
                )
                # Event ids as simgate writes them (time first), or random as
                # it wrote them before: the backlog of an upgraded store.
                stamp = at.replace(tzinfo=UTC).timestamp()
                event = "msg_" + secrets.token_hex(12) if random_ids else ids.event_id(stamp)
                batch.append(
                    (event, account_id, "status", url, payload, "done", 1, at, at, at, 200)
                )
            self.execute_many(cursor, sql, batch)

    def execute_many(self, cursor: Any, sql: str, batch: list[tuple[Any, ...]]) -> None:
        if isinstance(self.conn, sqlite3.Connection):
            cursor.execute("BEGIN")
            cursor.executemany(sql, batch)
            cursor.execute("COMMIT")
        else:
            cursor.executemany(sql, batch)
            self.conn.commit()

    def count_done(self) -> int:
        cursor = self.conn.cursor()
        cursor.execute("SELECT count(*) FROM webhooks WHERE state = 'done'")
        value = int(cursor.fetchone()[0])
        if not isinstance(self.conn, sqlite3.Connection):
            self.conn.rollback()  # do not hold a snapshot open between counts
        return value

    def analyze(self) -> None:
        cursor = self.conn.cursor()
        cursor.execute("ANALYZE")
        if not isinstance(self.conn, sqlite3.Connection):
            self.conn.commit()

    def close(self) -> None:
        self.conn.close()


@contextmanager
def serving(settings: Settings, env: dict[str, str], log_path: Path) -> Iterator[tuple[int, int]]:
    """`simgate serve` on a free loopback port; yields (port, pid)."""
    with ServerProcess(settings, env=env, log_path=log_path) as server:
        yield server.port, server.pid


def measure(port: int, login: str, key: str, seconds: float) -> list[float]:
    """Latencies (s) of single-message sendsms requests sent back to back."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < stop_at:
        i += 1
        body = json.dumps(
            {
                "header": {"login": login, "accessKey": key},
                "messages": [{"phone_number": f"+336{12000000 + i % 5000:08d}",
                              "message": f"Your code is {i * 7919 % 100000:05d}"}],
            }
        ).encode()  # fmt: skip
        start = time.perf_counter()
        conn.request("POST", "/api/v1/sendsms", body, headers)
        response = conn.getresponse()
        data = response.read()
        latencies.append(time.perf_counter() - start)
        if response.status != 200 or b'"sent":1' not in data:
            raise SystemExit(f"sendsms refused: {response.status} {data[:200]!r}")
    conn.close()
    return latencies


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000,
        "max_ms": ordered[-1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="delivered webhooks to seed")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured time per phase")
    parser.add_argument("--rounds", type=int, default=4, help="idle/pruning alternations")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured time per phase")
    parser.add_argument("--database-url", default=None, help="PostgreSQL (else SQLite)")
    parser.add_argument(
        "--random-ids", action="store_true", help="event ids as before time-ordered ones"
    )
    parser.add_argument(
        "--flat-out", action="store_true", help="then time `simgate prune` at full speed"
    )
    parser.add_argument("--until-done", action="store_true", help="time the whole prune")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and server logs")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="simgate-prune-bench-"))
    settings = Settings(data_dir=tmp / "data", database_url=args.database_url)
    store = None
    try:
        cli(settings, "db", "upgrade")
        account = json.loads(cli(settings, "accounts", "create", "bench@example.com", "--json"))
        store = Store(tmp / "data", args.database_url)
        started = time.perf_counter()
        # Account 1: the first of a fresh store.
        store.seed(1, args.rows, days_old=40, random_ids=args.random_ids)
        store.analyze()
        seeded = time.perf_counter() - started
        engine_name = "PostgreSQL" if args.database_url else "SQLite"
        print(
            f"simgate prune benchmark: {engine_name}, {os.cpu_count()} CPUs; seeded "
            f"{args.rows} delivered webhooks 40 days old "
            f"({'random' if args.random_ids else 'time-ordered'} event ids) in {seeded:.1f} s "
            f"({args.rows / seeded:.0f} rows/s)",
            flush=True,
        )
        login, key = account["login"], account["access_key"]

        idle_env = {"SIMGATE_RETENTION_WEBHOOKS_DONE_DAYS": "0"}
        idle_runs: list[float] = []
        busy_runs: list[float] = []
        pruned = measured = 0.0
        after = -1
        per_round = args.seconds / args.rounds
        # Rounds of idle then pruning, pooled: the load of other work on the
        # machine drifts, and would otherwise land on one phase only.
        for _ in range(args.rounds):
            with serving(settings, idle_env, tmp / "server-idle.log") as (port, _pid):
                measure(port, login, key, args.warmup)
                idle_runs += measure(port, login, key, per_round)
            with serving(settings, {}, tmp / "server-prune.log") as (port, _pid):
                measure(port, login, key, args.warmup)
                before, t0 = store.count_done(), time.perf_counter()
                busy_runs += measure(port, login, key, per_round)
                after, t1 = store.count_done(), time.perf_counter()
                pruned += before - after
                measured += t1 - t0
                if args.until_done and after and _ == args.rounds - 1:
                    while store.count_done():
                        time.sleep(1)
                    print(f"the last round's prune ended {time.perf_counter() - t0:.0f} s in")
        idle, busy = summary(idle_runs), summary(busy_runs)
        rate = pruned / measured

        print(f"{'phase':<10} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for name, r in (("idle", idle), ("pruning", busy)):
            print(
                f"{name:<10} {r['requests']:>9.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
                f"{r['max_ms']:>8.1f}"
            )
        print(f"p99 pruning / idle: {busy['p99_ms'] / idle['p99_ms']:.2f}")
        print(f"pruned {pruned:.0f} rows in the measured windows: {rate:.0f} rows/s")
        if after == 0:
            print("warning: the pruner finished inside a window; seed more rows")
        if args.flat_out and after:
            # What an operator's `simgate prune` in a quiet hour does with the rest.
            started = time.perf_counter()
            cli(settings, "prune", env={"SIMGATE_RETENTION_STORE_SHARE": "1"})
            took = time.perf_counter() - started
            print(
                f"then `simgate prune` flat out (no server): {after} rows in {took:.1f} s "
                f"({after / took:.0f} rows/s)"
            )
    finally:
        if store is not None:
            store.close()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
