"""Acceptance throughput and tail of POST /api/v1/sendsms on the default store.

Starts a real `simgate serve` process on a temporary SQLite data dir (WAL,
synchronous=FULL: every `sent: 1` is on disk), creates an account with the
command line, then for each batch size and each number of keep-alive
connections posts the same body for a fixed time and prints messages/s,
requests/s, p50/p99/p99.9 latency and the server's CPU time per request.
Only loopback is used.

    .venv/bin/python bench/accept.py                 # 10 s per scenario
    .venv/bin/python bench/accept.py --seconds 3 --batches 1,500 --concurrency 8
    .venv/bin/python bench/accept.py --baseline      # the bare stack beside it
    .venv/bin/python bench/accept.py --metrics       # /metrics on, scraped every second

`--baseline` also starts a bare uvicorn + FastAPI app (this file, run with
`--bare-port`) that parses sendsms-shaped requests and answers each message
with a constant item, storing nothing: the limit of our own stack on this
machine. Each scenario then runs on simgate and on the bare app one after the
other, within the same minute, and the last table gives the ratios: single
requests/s against the bare stack's, and batch messages/s against its
parse-only rate.

`--metrics` sets SIMGATE_METRICS_TOKEN and scrapes /metrics every
`--scrape-seconds` (1 s: fifteen times Prometheus' usual rate) while the load
runs, so that the run pays for the scrapes as well as for the counting. The
counters themselves count with or without a token: compare a run against
one of the code before them for their cost.

The load comes from stdlib http.client in threads: it costs the client far
less CPU than httpx, which matters when client and server share two cores.
p99.9 needs 1,000 requests to mean anything; with fewer it is the slowest.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from _support import cli, cpu_seconds
from fastapi import FastAPI, Request
from fastapi.responses import Response

from simgate.config import Settings
from simgate.testing import ServerProcess, free_port


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


class Scraper:
    """Reads /metrics every `every` seconds in a thread, as Prometheus would."""

    def __init__(self, port: int, token: str, every: float) -> None:
        self.port, self.token, self.every = port, token, every
        self.scrapes = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        while not self.stopped.wait(self.every):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            conn.request("GET", "/metrics", headers=headers)
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status != 200:
                raise SystemExit(f"/metrics answered {response.status}")
            self.scrapes += 1

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(30)


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values, in ms (NaN when empty)."""
    if not ordered:
        return float("nan")
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)] * 1000


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
        "p99_ms": percentile(latencies, 0.99),
        "p999_ms": percentile(latencies, 0.999),
        "max_ms": latencies[-1] * 1000 if latencies else float("nan"),
    }


# --- the bare stack ------------------------------------------------------------


def serve_bare(port: int) -> None:
    """uvicorn + FastAPI answering sendsms-shaped requests with a constant item
    per message after parsing the JSON, storing nothing: simgate's own stack
    (same server, protocol, parser and encoder) without simgate."""
    item = orjson.dumps(
        {
            "id_sms_api": "FI5O7apqaaqcUmQ",
            "sms_per_message": 1,
            "user": "bench@example.com",
            "sent_time": "2026-11-26T12:00:00Z",
            "phone_number": "+33612000000",
            "message": "Hello",
            "sent": 1,
        }
    )
    app = FastAPI()

    @app.post("/api/v1/sendsms")
    async def sendsms(request: Request) -> Response:
        data = orjson.loads(await request.body())
        count = len(data["messages"])
        return Response(b"[" + b",".join([item] * count) + b"]", media_type="application/json")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


class BareProcess:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [sys.executable, __file__, "--bare-port", str(self.port)]
        self.proc = subprocess.Popen(cmd)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("POST", "/api/v1/sendsms", b'{"messages":[]}')
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("the bare app did not start")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


# --- the run -------------------------------------------------------------------

HEADER = (
    f"{'stack':<8} {'batch':>5} {'conns':>5} {'msg/s':>9} {'req/s':>8} {'p50 ms':>7} "
    f"{'p99 ms':>7} {'p99.9 ms':>8} {'max ms':>7} {'requests':>8} {'errors':>6} "
    f"{'srv CPU':>7} {'CPU ms/req':>10}"
)


def row(stack: str, r: dict[str, Any]) -> str:
    return (
        f"{stack:<8} {r['batch']:>5} {r['connections']:>5} {r['msg_per_s']:>9.0f} "
        f"{r['req_per_s']:>8.0f} {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['p999_ms']:>8.1f} "
        f"{r['max_ms']:>7.1f} {r['requests']:>8} {r['errors']:>6} {r['server_cpu']:>7.0%} "
        f"{r['cpu_ms_per_req']:>10.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="time per scenario")
    parser.add_argument("--batches", default="1,500", help="messages per request")
    parser.add_argument(
        "--concurrency", default="1,8,32", help="keep-alive connections, one scenario each"
    )
    parser.add_argument("--baseline", action="store_true", help="run the bare stack beside")
    parser.add_argument("--synchronous", default="FULL", help="SQLite synchronous setting")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and server log")
    parser.add_argument(
        "--metrics", action="store_true", help="turn /metrics on and scrape it while loading"
    )
    parser.add_argument(
        "--scrape-seconds", type=float, default=1.0, help="with --metrics: time between scrapes"
    )
    parser.add_argument("--bare-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_port:
        serve_bare(args.bare_port)
        return

    tmp = Path(tempfile.mkdtemp(prefix="simgate-bench-"))
    settings = Settings(data_dir=tmp / "data")
    env = {"SIMGATE_SQLITE_SYNCHRONOUS": args.synchronous}
    token = secrets.token_hex(16)
    if args.metrics:
        env["SIMGATE_METRICS_TOKEN"] = token
    account = json.loads(cli(settings, "accounts", "create", "bench@example.com", "--json"))
    login, key = account["login"], account["access_key"]
    server = ServerProcess(settings, env=env, log_path=tmp / "server.log")
    bare = BareProcess() if args.baseline else None
    scraper: Scraper | None = None
    ratios: list[str] = []
    try:
        server.start()
        if args.metrics:
            scraper = Scraper(server.port, token, args.scrape_seconds)
            scraper.start()
        if bare is not None:
            bare.start()
        load = os.getloadavg()[0]
        print(
            f"simgate accept benchmark: SQLite synchronous={args.synchronous}, "
            f"{os.cpu_count()} CPUs, {args.seconds:g} s each, load average {load:.1f}, "
            + (
                f"/metrics scraped every {args.scrape_seconds:g} s"
                if args.metrics
                else "no scrapes"
            )
        )
        print(HEADER)
        for batch in (int(b) for b in args.batches.split(",")):
            for connections in (int(c) for c in args.concurrency.split(",")):
                ours = run_scenario(
                    server.port, server.pid, login, key, batch, connections, args.seconds
                )
                print(row("simgate", ours), flush=True)
                if bare is None:
                    continue
                theirs = run_scenario(
                    bare.port, bare.pid, login, key, batch, connections, args.seconds
                )
                print(row("bare", theirs), flush=True)
                what = "requests/s" if batch == 1 else "messages/s"
                ratio = ours["msg_per_s"] / theirs["msg_per_s"] if theirs["msg_per_s"] else 0.0
                goal = 0.5 if batch == 1 else 0.1
                ratios.append(
                    f"batch {batch:>4}, {connections:>2} connections: {what} "
                    f"{ours['msg_per_s']:,.0f} / {theirs['msg_per_s']:,.0f} = {ratio:.2f} "
                    f"of the bare stack (goal {goal:g})"
                )
        print("srv CPU: server process CPU time / wall time (100% = one core)")
        if ratios:
            print("simgate against the bare stack (single: req/s; batches: msg/s vs parse-only):")
            print("\n".join(ratios))
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
        if scraper is not None:
            print(f"/metrics scraped {scraper.scrapes} times")
    finally:
        if scraper is not None:
            scraper.stop()
        server.stop()
        if bare is not None:
            bare.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
