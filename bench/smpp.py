"""SMPP throughput: messages per second through one bind, and the time from
the driver taking a message to its submit_sm_resp.

Starts the SMSC simulator (tests/smsc_sim, `npm ci` there first) on loopback
ports it picks, answering every submit at once and sending each receipt
300 ms later, and drives the `smpp` driver in this process as the agent
would: `--in-flight` messages handed to it at any moment (the server's
SIMGATE_MAX_IN_FLIGHT, 200), one transceiver bind with `--window`
outstanding submits. Each message is one GSM-7 part. Latency is from
`send_sms` being called to its return: the submit_sm_resp is in and the
ledger written (fsynced, unless --no-fsync). Receipts are matched as they
come, on the same link, as in production. Prints messages/s, p50/p99, and
the CPU seconds per 1,000 messages of this process and of the simulator.

    .venv/bin/python bench/smpp.py                    # 10 s, window 10
    .venv/bin/python bench/smpp.py --seconds 5 --window 50 --no-fsync
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _support import cpu_seconds, start_simulator

from simgate.device.drivers.smpp.driver import SmppDriver, SmppOptions
from simgate.smpp.session import LinkConfig
from simgate.testing import stop_process


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(args: argparse.Namespace, port: int, folder: Path) -> dict[str, Any]:
    link = LinkConfig("127.0.0.1", port, "test", "test", window=args.window)
    driver = SmppDriver(link, folder, SmppOptions(source_addr="SimGate"), fsync=args.fsync)
    events = 0

    async def agent() -> None:
        nonlocal events
        async for _ in driver.events():
            events += 1

    reader = asyncio.create_task(agent())
    await driver.send_sms("warm-up", "+33600000000", "warm up")  # binds
    latencies: list[float] = []
    deadline = time.monotonic() + args.seconds
    counter = 0

    async def sender() -> None:
        nonlocal counter
        while time.monotonic() < deadline:
            counter += 1
            command_id = f"{counter}.0"
            started = time.perf_counter()
            await driver.send_sms(command_id, f"+336{counter % 10**8:08d}", f"bench {counter}")
            latencies.append(time.perf_counter() - started)

    began = time.monotonic()
    await asyncio.gather(*(sender() for _ in range(args.in_flight)))
    elapsed = time.monotonic() - began
    await asyncio.sleep(0.5)  # the last receipts
    reader.cancel()
    await driver.aclose()
    return {"messages": len(latencies), "elapsed": elapsed, "latencies": latencies,
            "events": events}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--in-flight", type=int, default=200)
    parser.add_argument("--no-fsync", dest="fsync", action="store_false")
    args = parser.parse_args()

    proc, port = start_simulator()
    folder = Path(tempfile.mkdtemp(prefix="simgate-bench-smpp-"))
    try:
        sim_cpu = cpu_seconds(proc.pid)
        own = resource.getrusage(resource.RUSAGE_SELF)
        result = asyncio.run(run(args, port, folder))
        after = resource.getrusage(resource.RUSAGE_SELF)
        sim_cpu = cpu_seconds(proc.pid) - sim_cpu
    finally:
        stop_process(proc, grace=5)
        if proc.stdout is not None:
            proc.stdout.close()
        shutil.rmtree(folder, ignore_errors=True)
    count = result["messages"]
    latencies = result["latencies"]
    own_cpu = (after.ru_utime + after.ru_stime) - (own.ru_utime + own.ru_stime)
    print(
        f"window {args.window}, {args.in_flight} in flight, fsync {'on' if args.fsync else 'off'}"
    )
    print(f"{count} messages in {result['elapsed']:.1f} s: {count / result['elapsed']:.0f} msg/s")
    print(
        f"take → submit_sm_resp: p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, "
        f"mean {statistics.fmean(latencies) * 1000:.1f} ms"
    )
    print(
        f"CPU per 1,000 messages: agent {own_cpu / count * 1000:.2f} s, "
        f"simulator {sim_cpu / count * 1000:.2f} s; {result['events']} events reported"
    )


if __name__ == "__main__":
    main()
