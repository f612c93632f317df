"""Webhook deliveries per second from a real `simgate serve` to a local receiver.

Starts a fast receiver (a bare ASGI app under uvicorn, its own process) and a
`simgate serve` process on a temporary SQLite store (or --database-url), then
writes N webhook rows into the outbox in one transaction, as device reports
do, and times until every row is `done`. Prints the end-to-end rate (from the
commit, including up to one poll interval before the server notices rows
written by another process) and the steady rate seen by the receiver (first
to last request). Only loopback is used.

    .venv/bin/python bench/webhooks.py                  # 20,000 deliveries
    .venv/bin/python bench/webhooks.py -n 5000 --signed --per-host 16
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
from _support import cpu_seconds

from simgate.testing import free_port

# --- the receiver (runs in its own process) -----------------------------------


def receiver(port: int) -> None:
    import uvicorn

    stats: dict[str, float] = {"count": 0, "first": 0.0, "last": 0.0}
    peers: set[object] = set()

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        if scope["path"] == "/stats":
            body = json.dumps({**stats, "connections": len(peers)}).encode()
        else:
            now = time.perf_counter()
            stats["count"] += 1
            stats["first"] = stats["first"] or now
            stats["last"] = now
            peers.add(scope.get("client"))
            body = b"OK"
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)


# --- the run --------------------------------------------------------------------


def wait_up(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    sys.exit(f"{what} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=20_000, help="deliveries [20000]")
    parser.add_argument("--database-url", default=None, help="PostgreSQL instead of SQLite")
    parser.add_argument("--signed", action="store_true", help="sign with a secret")
    parser.add_argument("--per-host", type=int, default=None, help="SIMGATE_WEBHOOK_PER_HOST")
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--nodes", type=int, default=1, help="simgate serve processes [1]")
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        receiver(args.receiver)
        return

    from sqlalchemy import func, select

    from simgate.config import Settings
    from simgate.domain import payloads
    from simgate.services import outbox
    from simgate.services.accounts import create_account
    from simgate.services.webhook_admin import set_callbacks, signing_secret
    from simgate.store.db import make_engine, upgrade
    from simgate.store.tables import webhooks

    tmp = Path(tempfile.mkdtemp(prefix="simgate-bench-"))
    env = dict(os.environ, SIMGATE_DATA_DIR=str(tmp), SIMGATE_ALLOW_PRIVATE_CALLBACKS="true")
    if args.database_url:
        env["SIMGATE_DATABASE_URL"] = args.database_url
    if args.per_host:
        env["SIMGATE_WEBHOOK_PER_HOST"] = str(args.per_host)
    if args.concurrency:
        env["SIMGATE_WEBHOOK_CONCURRENCY"] = str(args.concurrency)
    settings = Settings(data_dir=tmp, database_url=args.database_url)
    engine = make_engine(settings)
    upgrade(engine)

    rport = free_port()
    sports = [free_port() for _ in range(args.nodes)]
    procs = [subprocess.Popen([sys.executable, __file__, "--receiver", str(rport)])]
    procs += [
        subprocess.Popen(
            [sys.executable, "-m", "simgate.cli", "serve", "--port", str(sport)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for sport in sports
    ]
    try:
        wait_up(f"http://127.0.0.1:{rport}/stats", procs[0], "receiver")
        for sport, proc in zip(sports, procs[1:], strict=True):
            wait_up(f"http://127.0.0.1:{sport}/healthz", proc, "simgate serve")
        email = f"bench-{os.getpid()}@example.com"
        account, _ = create_account(engine, email)
        set_callbacks(engine, email, {"status": f"http://127.0.0.1:{rport}/dlr"}, True)
        if args.signed:
            signing_secret(engine, email)
        now = datetime.utcnow()
        batch = [
            payloads.delivery_status(email, "+33612345678", "received", now, f"id{i:08d}")
            for i in range(args.n)
        ]
        cpu_before = [cpu_seconds(p.pid) for p in procs]
        with engine.begin() as conn:
            outbox.enqueue_many(conn, account.id, "status", batch, now=now)
        start = time.perf_counter()
        deadline = start + max(60.0, args.n / 100)
        while True:
            with engine.connect() as conn:
                done = conn.execute(
                    select(func.count()).where(webhooks.c.state == "done")
                ).scalar_one()
            if done >= args.n:
                break
            if time.perf_counter() > deadline:
                sys.exit(f"only {done}/{args.n} delivered before the deadline")
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        cpu = [cpu_seconds(p.pid) - before for p, before in zip(procs, cpu_before, strict=True)]
        stats = httpx.get(f"http://127.0.0.1:{rport}/stats").json()
        steady = (stats["count"] - 1) / max(stats["last"] - stats["first"], 1e-9)
        store = "PostgreSQL" if args.database_url else "SQLite"
        nodes = f"{args.nodes} node{'s' if args.nodes > 1 else ''}"
        sender_cpu = sum(cpu[1:])
        print(
            f"{args.n} webhook deliveries ({store}, {nodes}, "
            f"{'signed' if args.signed else 'unsigned'}): "
            f"{elapsed:.2f} s end to end = {args.n / elapsed:,.0f}/s; "
            f"steady at the receiver {steady:,.0f}/s; receiver saw {stats['count']:.0f} requests "
            f"on {stats['connections']} connections"
        )
        # On a shared machine the rate depends on what else runs; CPU per delivery does not.
        print(
            f"CPU per delivery: sender (simgate serve) {sender_cpu / args.n * 1000:.2f} ms "
            f"= {args.n / sender_cpu:,.0f} deliveries per CPU-second; "
            f"receiver {cpu[0] / args.n * 1000:.2f} ms; load average {os.getloadavg()[0]:.1f} "
            f"on {os.cpu_count()} CPUs"
        )
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        engine.dispose()


if __name__ == "__main__":
    main()
