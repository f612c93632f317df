"""Dispatch throughput: from accepted to handed to a phone.

Starts `simgate serve` on a temporary SQLite store (or --database-url), pairs
simulated phones (real `simgate device run` processes with no send delay),
posts messages in batches, and prints messages/s from acceptance to hand-off
and to `sent`, with p50/p99 of the accept → hand-off and accept → sent
latencies.

With `--smpp` the phones are `simgate device run --driver smpp` agents bound
(window 10) to the tests' SMSC simulator (tests/smsc_sim, `npm ci` there
first), which answers every submit at once: `sent` is then reported once the
SMSC's submit_sm_resp is in and the agent's ledger fsynced, so accept → sent
is accept → submit_sm_resp, through the server, the dispatcher, the device
socket and the agent's journal.

    python bench/dispatch.py [--messages 5000] [--phones 2] [--rate 60000]
    python bench/dispatch.py --smpp --phones 1 --messages 6000
    python bench/dispatch.py --smpp --phones 1 --messages 6000 --offered 400 --batch 20
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from _support import start_simulator
from sqlalchemy import func, select

from simgate.config import Settings
from simgate.store.db import make_engine
from simgate.store.tables import messages
from simgate.testing import AgentProcess, ServerProcess, simgate, stop_process


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc): unlike the
    wall clock, it does not move with whatever else the VM is running."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--phones", type=int, default=2)
    parser.add_argument("--rate", type=int, default=60000, help="per phone, SMS per minute")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--smpp", action="store_true", help="phones bound to an SMSC simulator")
    parser.add_argument(
        "--offered",
        type=float,
        default=None,
        help="post at this many messages/s (in batches of --batch) instead of all at once: "
        "the latencies are then those of a steady load, not of a burst's queue",
    )
    args = parser.parse_args()
    smsc = None
    if args.smpp:
        smsc, smpp_port = start_simulator()
        driver = [
            *("--driver", "smpp", "--smpp-host", "127.0.0.1", "--smpp-port", str(smpp_port)),
            *("--smpp-system-id", "test", "--smpp-password", "test"),
            *("--smpp-source-addr", "SimGate", "--smpp-window", "10"),
        ]
    else:  # simulated phones, their journals not synced: the server is what is measured
        driver = ["--sent-delay", "0", "--delivery-delay", "0", "--no-fsync"]

    folder = Path(tempfile.mkdtemp(prefix="simgate-bench-"))
    settings = Settings(data_dir=folder / "data", database_url=args.database_url)
    created = simgate("accounts", "create", "bench@example.com", "--json", settings=settings)
    account = json.loads(created.stdout)
    header = {"login": account["login"], "accessKey": account["access_key"]}
    agents = []
    with ServerProcess(settings) as server:
        for n in range(args.phones):
            token = json.loads(
                simgate(
                    "devices",
                    "add",
                    account["login"],
                    "--name",
                    f"p{n}",
                    "--rate",
                    str(args.rate),
                    "--json",
                    settings=settings,
                ).stdout
            )["token"]
            agents.append(AgentProcess(server.url, token, folder / f"phone{n}", *driver).start())
        time.sleep(2)  # let the phones connect
        engine = make_engine(settings)
        started = time.perf_counter()
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for start in range(0, args.messages, args.batch):
                if args.offered:  # the batch's own slot: late posts catch up, none is skipped
                    time.sleep(max(0.0, started + start / args.offered - time.perf_counter()))
                items = [
                    {"phone_number": f"+336{12000000 + i:08d}", "message": f"bench {i}"}
                    for i in range(start, min(args.messages, start + args.batch))
                ]
                client.post("/api/v1/sendsms", json={"header": header, "messages": items})
        accepted = time.perf_counter() - started
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                done = conn.execute(
                    # failed too: the SMSC simulator fails numbers ending in 666 after sending
                    select(func.count()).where(messages.c.state.in_(("sent", "received", "failed")))
                ).scalar()
            if done == args.messages:
                break
            time.sleep(0.2)
        with engine.connect() as conn:
            rows = conn.execute(
                select(messages.c.created_at, messages.c.dispatched_at, messages.c.sent_at)
            ).all()
        agent_cpu = sum(cpu_seconds(a.proc.pid) for a in agents if a.proc)
        server_cpu = cpu_seconds(server.proc.pid) if server.proc else 0.0
        for agent in agents:
            agent.kill()
    if smsc is not None:
        stop_process(smsc)
    first = min(r.created_at for r in rows)
    handed = [r for r in rows if r.dispatched_at]
    latency = [(r.dispatched_at - r.created_at).total_seconds() * 1000 for r in handed]
    last_handoff = max(r.dispatched_at for r in handed)
    sent = [r for r in rows if r.sent_at]
    last_sent = max(r.sent_at for r in sent) if sent else last_handoff
    phones = "SMPP binds (window 10)" if args.smpp else "simulated phones"
    print(
        f"store: {'PostgreSQL' if args.database_url else 'SQLite'}; "
        f"{args.phones} {phones} at {args.rate}/min each"
    )
    print(f"accepted {args.messages} messages in batches of {args.batch} in {accepted:.2f} s")
    span = (last_handoff - first).total_seconds()
    print(f"hand-off: {len(handed)} messages in {span:.2f} s = {len(handed) / span:,.0f} msg/s")
    span_sent = (last_sent - first).total_seconds()
    print(f"sent reported: {len(sent)} in {span_sent:.2f} s = {len(sent) / span_sent:,.0f} msg/s")
    print(
        f"accept → hand-off latency: p50 {statistics.median(latency):.0f} ms, "
        f"p99 {percentile(latency, 0.99):.0f} ms"
    )
    if sent:
        to_sent = [(r.sent_at - r.created_at).total_seconds() * 1000 for r in sent]
        print(
            f"accept → sent latency: p50 {statistics.median(to_sent):.0f} ms, "
            f"p99 {percentile(to_sent, 0.99):.0f} ms"
        )
    per_message = 1000 / args.messages
    print(
        f"CPU per message: agents {agent_cpu * per_message:.2f} ms, "
        f"server {server_cpu * per_message:.2f} ms"
    )


if __name__ == "__main__":
    main()
