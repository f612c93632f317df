"""How long `campaigns/start` takes for a large campaign, through a real server.

Starts a real `simgate serve` process on a temporary SQLite data dir (WAL,
synchronous=FULL), creates an account with the command line, then for each
run creates a campaign of N recipients (distinct numbers, half of the text a
tracked link) with `POST /api/v2/campaigns/create` and times
`POST /api/v2/campaigns/start`: every recipient judged and stored as a
message in one transaction. Prints each run, p50/p99 and the rate. No phone
is connected, so the dispatcher does not compete for the store. Only loopback
is used.

    .venv/bin/python bench/campaign_start.py                  # 10,000 recipients, 5 runs
    .venv/bin/python bench/campaign_start.py --recipients 2000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from _support import cli, cpu_seconds

from simgate.config import Settings
from simgate.testing import ServerProcess

GOAL_SECONDS = 2.0


def post(client: httpx.Client, endpoint: str, account: dict[str, str], **fields: object) -> dict:
    body = {"login": account["login"], "accessKey": account["access_key"], **fields}
    response = client.post(f"/api/v2/{endpoint}", json=body)
    answer = response.json()
    if not answer.get("success"):
        raise SystemExit(f"{endpoint} failed: {answer}")
    return answer  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--synchronous", default="FULL", help="SQLite synchronous setting")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and server log")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="simgate-bench-"))
    settings = Settings(data_dir=tmp / "data")
    env = {
        "SIMGATE_SQLITE_SYNCHRONOUS": args.synchronous,
        "SIMGATE_MAX_MESSAGES_PER_REQUEST": str(max(args.recipients, 10_000)),
        "SIMGATE_API_V2_REQUESTS_PER_MINUTE": "0",
    }
    account = json.loads(cli(settings, "accounts", "create", "bench@example.com", "--json"))
    server = ServerProcess(settings, env=env, log_path=tmp / "server.log")
    timings: list[float] = []
    try:
        server.start()
        print(
            f"simgate campaign start benchmark: SQLite synchronous={args.synchronous}, "
            f"{os.cpu_count()} CPUs, {args.recipients} recipients, {args.runs} runs"
        )
        print(f"{'run':>4} {'start s':>8} {'msg/s':>9} {'queued':>7} {'srv CPU s':>9}")
        with httpx.Client(base_url=server.url, timeout=120) as client:
            for run in range(args.runs):
                numbers = [f"+336{(run * args.recipients + i) % 10**8:08d}"
                           for i in range(args.recipients)]  # fmt: skip
                created = post(
                    client, "campaigns/create", account, name=f"bench {run}",
                    message="Hello, -20 % this week-end only: [link]",
                    url="https://example.com/offer", priority=1, phone_numbers=numbers,
                )  # fmt: skip
                cpu = cpu_seconds(server.pid)
                began = time.perf_counter()
                started = post(
                    client, "campaigns/start", account, campaign_id=created["campaign_id"]
                )
                took = time.perf_counter() - began
                timings.append(took)
                print(
                    f"{run + 1:>4} {took:>8.3f} {args.recipients / took:>9.0f} "
                    f"{started['queued']:>7} {cpu_seconds(server.pid) - cpu:>9.2f}",
                    flush=True,
                )
        ordered = sorted(timings)
        p50 = statistics.median(ordered)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        verdict = "under" if p99 < GOAL_SECONDS else "OVER"
        print(
            f"p50 {p50:.3f} s, p99 {p99:.3f} s ({verdict} the {GOAL_SECONDS:g} s goal), "
            f"{args.recipients / p50:.0f} messages/s at p50"
        )
    finally:
        server.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
