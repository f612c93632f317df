"""One tenant's load against another's latency.

Starts a real `simgate serve` on a temporary SQLite store (synchronous=FULL)
with two accounts, then measures what a quiet tenant sees while a loud one
pushes:

- api: the loud account posts 10,000-message sendsms requests back to back
  while the quiet one posts single messages; the quiet one's latency alone
  and under that load.
- reports: a loud phone floods `sms_received` reports as fast as the socket
  takes them while a quiet phone of the other account sends one every 20 ms;
  the quiet phone's ack latency and /healthz's, alone and under the flood.

    .venv/bin/python bench/fairness.py [--seconds 10] [--scenarios api,reports]

Only loopback is used. Latencies are printed as p50 / p99 / max in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _support import cli
from websockets.asyncio.client import connect

from simgate.config import Settings
from simgate.testing import ServerProcess


def percentiles(samples: list[float]) -> str:
    if not samples:
        return "no samples"
    ordered = sorted(samples)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return (
        f"p50 {statistics.median(ordered) * 1000:7.1f}  p99 {p99 * 1000:7.1f}  "
        f"max {ordered[-1] * 1000:7.1f}  (n={len(ordered)})"
    )


def post(conn: http.client.HTTPConnection, body: bytes) -> float:
    start = time.perf_counter()
    conn.request("POST", "/api/v1/sendsms", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"sendsms answered {response.status}")
    return time.perf_counter() - start


def sendsms_body(account: dict[str, str], count: int, offset: int = 0) -> bytes:
    messages = [
        {"phone_number": f"+336{12000000 + (offset + i) % 900000:08d}", "message": f"Hello {i}"}
        for i in range(count)
    ]
    header = {"login": account["login"], "accessKey": account["access_key"]}
    return json.dumps({"header": header, "messages": messages}).encode()


def api_scenario(port: int, quiet: dict[str, str], loud: dict[str, str], seconds: float) -> None:
    def singles(stop_at: float, out: list[float]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        body = sendsms_body(quiet, 1)
        while time.perf_counter() < stop_at:
            out.append(post(conn, body))
            time.sleep(0.01)  # a steady trickle, not a load of its own
        conn.close()

    def batches(stop_at: float, out: list[float]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        body = sendsms_body(loud, 10_000)
        while time.perf_counter() < stop_at:
            out.append(post(conn, body))
        conn.close()

    for label, loaded in (("alone", False), ("under 10,000-message batches", True)):
        quiet_times: list[float] = []
        loud_times: list[float] = []
        stop_at = time.perf_counter() + seconds
        threads = [threading.Thread(target=singles, args=(stop_at, quiet_times)) for _ in range(4)]
        if loaded:
            threads.append(threading.Thread(target=batches, args=(stop_at, loud_times)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(f"  quiet single sendsms {label:30} {percentiles(quiet_times)}")
        if loaded:
            rate = len(loud_times) * 10_000 / seconds
            print(f"  loud 10,000-message requests {'':22} {percentiles(loud_times)}"
                  f"  {rate:,.0f} msg/s")


async def reports_scenario(
    port: int, quiet_token: str, loud_token: str, seconds: float
) -> None:
    url = f"ws://127.0.0.1:{port}/api/devices/v1/ws"

    async def join(token: str) -> Any:
        ws = await connect(url, additional_headers={"Authorization": f"Bearer {token}"})
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "capabilities": []}))
        assert json.loads(await ws.recv())["type"] == "welcome"
        return ws

    async def quiet_phone(stop_at: float, out: list[float]) -> None:
        ws = await join(quiet_token)
        sent: dict[str, float] = {}

        async def reader() -> None:
            async for raw in ws:
                frame = json.loads(raw)
                if frame["type"] == "ack" and frame["ref"] in sent:
                    out.append(time.perf_counter() - sent.pop(frame["ref"]))

        task = asyncio.create_task(reader())
        i = 0
        while time.perf_counter() < stop_at:
            ref = f"q{time.time_ns()}-{i}"
            sent[ref] = time.perf_counter()
            await ws.send(json.dumps({"type": "sms_received", "ref": ref, "from": "+1",
                                      "text": "quiet"}))
            i += 1
            await asyncio.sleep(0.02)
        await asyncio.sleep(1)
        task.cancel()
        await ws.close()

    async def loud_phone(stop_at: float, counted: list[int]) -> None:
        ws = await join(loud_token)

        async def reader() -> None:
            async for raw in ws:
                if json.loads(raw)["type"] == "ack":
                    counted[0] += 1

        task = asyncio.create_task(reader())
        i = 0
        while time.perf_counter() < stop_at:
            await ws.send(json.dumps({"type": "sms_received", "ref": f"l{time.time_ns()}-{i}",
                                      "from": "+1", "text": "loud"}))
            i += 1
            if i % 100 == 0:
                await asyncio.sleep(0)
        await asyncio.sleep(1)
        task.cancel()
        await ws.close()

    async def health(stop_at: float, out: list[float]) -> None:
        def probe() -> float:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            start = time.perf_counter()
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            conn.close()
            return time.perf_counter() - start

        while time.perf_counter() < stop_at:
            out.append(await asyncio.to_thread(probe))
            await asyncio.sleep(0.1)

    for label, loaded in (("alone", False), ("under a report flood", True)):
        acks: list[float] = []
        probes: list[float] = []
        counted = [0]
        stop_at = time.perf_counter() + seconds
        jobs = [quiet_phone(stop_at, acks), health(stop_at, probes)]
        if loaded:
            jobs.append(loud_phone(stop_at, counted))
        await asyncio.gather(*jobs)
        print(f"  quiet phone's report acks {label:24} {percentiles(acks)}")
        print(f"  /healthz {label:41} {percentiles(probes)}")
        if loaded:
            print(f"  loud phone's reports stored {'':22} {counted[0] / seconds:,.0f}/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--scenarios", default="api,reports")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="simgate-fairness-"))
    settings = Settings(data_dir=tmp / "data")

    def cli_json(*words: str) -> Any:
        return json.loads(cli(settings, *words))

    quiet = cli_json("accounts", "create", "quiet@example.com", "--json")
    loud = cli_json("accounts", "create", "loud@example.com", "--json")
    server = ServerProcess(settings, log_path=tmp / "server.log")
    try:
        server.start()
        port = server.port
        print(f"simgate fairness benchmark: SQLite, {os.cpu_count()} CPUs, "
              f"{args.seconds:g} s per run")
        scenarios = args.scenarios.split(",")
        if "api" in scenarios:
            print("api:")
            api_scenario(port, quiet, loud, args.seconds)
        if "reports" in scenarios:
            quiet_token = cli_json("devices", "add", "quiet@example.com", "--name", "q",
                                   "--json")["token"]
            loud_token = cli_json("devices", "add", "loud@example.com", "--name", "l",
                                  "--json")["token"]
            print("reports:")
            asyncio.run(reports_scenario(port, quiet_token, loud_token, args.seconds))
    finally:
        server.stop()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
