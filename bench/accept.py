"""Acceptance throughput of POST /api/v1/sendsms on the default store.

Starts a real `simgate serve` process on a temporary SQLite data dir (WAL,
synchronous=FULL: every `sent: 1` is on disk), creates an account with the
command line, then for each batch size posts the same body for a fixed time
from several keep-alive connections and prints messages/s, requests/s and
p50/p99 latency. Only loopback is used.

    .venv/bin/python bench/accept.py                 # 10 s per scenario
    .venv/bin/python bench/accept.py --seconds 3 --batches 1,1000

The load comes from stdlib http.client in threads: it costs the client far
less CPU than httpx, which matters when client and server share two cores.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from _support import cli, cpu_seconds

from simgate.config import Settings
from simgate.testing import ServerProcess


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    messages: int = 0
    errors: int = 0


def body_for(login: str, key: str, batch: int) -> bytes:
    # Distinct numbers and a tracked link on every other message, like a campaign.
    messages = []
    for i in range(batch):
        item = {
            "phone_number": f"+336{12000000 + i % 5000:08d}",
            "message": f"Hello customer {i}, your code is {i * 7919 % 100000:05d} [Lien_Tracking]",
            "url": "https://example.com/offer" if i % 2 == 0 else "",
            "priorite": 1,
        }
        messages.append(item)
    return json.dumps({"header": {"login": login, "accessKey": key}, "messages": messages}).encode()


def worker(port: int, body: bytes, batch: int, stop_at: float, out: Result) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    ok_marker = b'"sent":1'
    while time.perf_counter() < stop_at:
        start = time.perf_counter()
        try:
            conn.request("POST", "/api/v1/sendsms", body, headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            out.errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            continue
        out.latencies.append(time.perf_counter() - start)
        accepted = data.count(ok_marker)
        if response.status != 200 or accepted != batch:
            out.errors += 1
        out.messages += accepted
    conn.close()


def run_scenario(
    port: int, pid: int, login: str, key: str, batch: int, connections: int, seconds: float
) -> dict[str, float]:
    body = body_for(login, key, batch)
    # Warm up (code paths, caches, connections) outside the measured window.
    warm = Result()
    worker(port, body, batch, time.perf_counter() + min(1.0, seconds / 5), warm)
    results = [Result() for _ in range(connections)]
    cpu_start = cpu_seconds(pid)
    start = time.perf_counter()
    stop_at = start + seconds
    threads = [
        threading.Thread(target=worker, args=(port, body, batch, stop_at, r)) for r in results
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    server_cpu = cpu_seconds(pid) - cpu_start
    latencies = sorted(x for r in results for x in r.latencies)
    messages = sum(r.messages for r in results)
    return {
        "batch": batch,
        "connections": connections,
        "seconds": elapsed,
        "requests": len(latencies),
        "messages": messages,
        "errors": sum(r.errors for r in results),
        "msg_per_s": messages / elapsed,
        "req_per_s": len(latencies) / elapsed,
        "cpu_ms_per_req": server_cpu * 1000 / max(len(latencies), 1),
        "server_cpu": server_cpu / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000
        if len(latencies) >= 100
        else (latencies[-1] * 1000 if latencies else float("nan")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="time per scenario")
    parser.add_argument("--batches", default="1,100,1000", help="messages per request")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument("--synchronous", default="FULL", help="SQLite synchronous setting")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and server log")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="simgate-bench-"))
    settings = Settings(data_dir=tmp / "data")
    env = {"SIMGATE_SQLITE_SYNCHRONOUS": args.synchronous}
    account = json.loads(cli(settings, "accounts", "create", "bench@example.com", "--json"))
    server = ServerProcess(settings, env=env, log_path=tmp / "server.log")
    try:
        server.start()
        port = server.port
        print(
            f"simgate accept benchmark: SQLite synchronous={args.synchronous}, "
            f"{os.cpu_count()} CPUs, {args.connections} connections, {args.seconds:g} s each"
        )
        print(
            f"{'batch':>6} {'msg/s':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'requests':>9} {'errors':>6} {'srv CPU':>7} {'CPU ms/req':>10}"
        )
        for batch in (int(b) for b in args.batches.split(",")):
            r = run_scenario(
                port,
                server.pid,
                account["login"],
                account["access_key"],
                batch,
                args.connections,
                args.seconds,
            )
            print(
                f"{batch:>6} {r['msg_per_s']:>9.0f} {r['req_per_s']:>8.0f} {r['p50_ms']:>8.1f} "
                f"{r['p99_ms']:>8.1f} {r['requests']:>9} {r['errors']:>6} "
                f"{r['server_cpu']:>7.0%} {r['cpu_ms_per_req']:>10.2f}",
                flush=True,
            )
        print("srv CPU: server process CPU time / wall time (100% = one core)")
    finally:
        server.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
