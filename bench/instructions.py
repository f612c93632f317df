"""CPU instructions a single-message sendsms costs the whole server, counted by callgrind.

Wall-clock figures on this VM drift by ±25 % from one run to the next, far
more than the few per cent a change to the hot path is worth; an instruction
count does not drift. This runs a real `simgate serve` under valgrind's
callgrind (every thread: the event loop, the SQLite writer, its syncer) on a
temporary SQLite store, sends single-message sendsms requests one after the
other over one keep-alive connection (one request per commit: the worst case
for whatever is paid per commit), and prints the instructions per request.
With `--scrapes N` it also counts a /metrics scrape.

The server's timers (dispatcher polls and sweeps, the webhook sender's
polls, phone pings) would add instructions by the second, and a server under
callgrind runs some fifty times slower than without; they are set to ten
minutes so that what is counted is the requests. What is left by the second
is measured on an idle stretch afterwards and taken off.

To compare two versions, give each one's source folder (`git worktree add
/tmp/old REV`):

    .venv/bin/python bench/instructions.py --source /tmp/old/src --source src

Needs valgrind (Debian's package). Several minutes per source: the server
takes a minute or two to start under callgrind. Only loopback is used.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from simgate.testing import free_port

QUIET_TIMERS = {
    "SIMGATE_DISPATCH_POLL_SECONDS": "600",
    "SIMGATE_DISPATCH_SWEEP_SECONDS": "600",
    "SIMGATE_WEBHOOK_POLL_SECONDS": "600",
    "SIMGATE_HEARTBEAT_SECONDS": "600",
}
METRICS_TOKEN = "bench-instructions-metrics-token"
IDLE_SECONDS = 60.0


def simgate_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from simgate.cli import main; main()", *args]


def total_instructions(dump: Path) -> int:
    text = dump.read_text()
    found = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.M)
    if found is None:
        raise SystemExit(f"no total in {dump}")
    return int(found.group(1))


class Measured:
    """One server under callgrind; each `phase` is counted from zero to its dump."""

    def __init__(self, source: Path, work: Path) -> None:
        self.work = work
        self.env = {
            **os.environ,
            **QUIET_TIMERS,
            "PYTHONPATH": str(source),
            "SIMGATE_DATA_DIR": str(work / "data"),
            "SIMGATE_METRICS_TOKEN": METRICS_TOKEN,
        }
        self.port = free_port()
        self.out = work / "callgrind.out"
        self.dumps = 0

    def start(self) -> dict[str, str]:
        def run(*args: str) -> str:
            done = subprocess.run(
                simgate_command(*args), env=self.env, capture_output=True, text=True
            )
            if done.returncode != 0:
                raise SystemExit(f"simgate {' '.join(args)} failed:\n{done.stderr}")
            return done.stdout

        run("db", "upgrade")
        account = json.loads(run("accounts", "create", "bench@example.com", "--json"))
        self.server = subprocess.Popen(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={self.out}",
                *simgate_command("serve", "--port", str(self.port)),
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=(self.work / "server.log").open("w"),
        )
        deadline = time.monotonic() + 900
        while not self._answers():
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start: {self.work / 'server.log'}")
            time.sleep(2)
        return account

    def _answers(self) -> bool:
        try:
            self.get("/metrics")
        except OSError:
            return False
        return True

    def get(self, path: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            conn.request("GET", path, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    def control(self, what: str) -> None:
        subprocess.run(
            ["callgrind_control", what, str(self.server.pid)], check=True, capture_output=True
        )

    def phase_start(self) -> None:
        self.control("--zero")

    def phase_end(self) -> int:
        self.control("--dump")
        self.dumps += 1
        return total_instructions(Path(f"{self.out}.{self.dumps}"))

    def stop(self) -> None:
        self.server.terminate()
        self.server.wait(300)


class Sender:
    """Single-message sendsms requests, one after the other, on one keep-alive connection."""

    def __init__(self, port: int, account: dict[str, str]) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.header = {"login": account["login"], "accessKey": account["access_key"]}

    def send(self, i: int) -> None:
        item = {
            "phone_number": f"+336{12000000 + i % 5000:08d}",
            "message": f"Hello customer {i}, your code is {i * 7919 % 100000:05d}",
        }
        body = json.dumps({"header": self.header, "messages": [item]})
        self.conn.request(
            "POST", "/api/v1/sendsms", body=body, headers={"Content-Type": "application/json"}
        )
        response = self.conn.getresponse()
        answer = response.read()
        if response.status != 200:
            raise SystemExit(f"sendsms answered {response.status}: {answer!r}")


def measure(source: Path, requests: int, scrapes: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="simgate-instructions-") as folder:
        server = Measured(source, Path(folder))
        account = server.start()
        try:
            sender = Sender(server.port, account)
            for i in range(100):  # warm up: imports, compiled statements, caches
                sender.send(i)
            server.phase_start()
            started = time.monotonic()
            for i in range(requests):
                sender.send(100 + i)
            counted = server.phase_end()
            took = time.monotonic() - started
            scrape = float("nan")
            if scrapes:
                server.phase_start()
                for _ in range(scrapes):
                    server.get("/metrics")
                scrape = server.phase_end() / scrapes
            server.phase_start()
            time.sleep(IDLE_SECONDS)
            idle_rate = server.phase_end() / IDLE_SECONDS
        finally:
            server.stop()
    per_request = (counted - idle_rate * took) / requests
    return {"per_request": per_request, "idle_per_second": idle_rate, "per_scrape": scrape}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        action="append",
        type=Path,
        help="a simgate source folder (repeat to compare); default: this one",
    )
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--scrapes", type=int, default=10)
    options = parser.parse_args()
    sources = options.source or [Path(__file__).resolve().parent.parent / "src"]
    first: float | None = None
    print(
        f"{'source':<40} {'M instr/request':>16} {'vs first':>9} "
        f"{'M instr/scrape':>15} {'idle M/s':>9}"
    )
    for source in sources:
        found = measure(source.resolve(), options.requests, options.scrapes)
        first = first or found["per_request"]
        print(
            f"{str(source):<40} {found['per_request'] / 1e6:>16.3f} "
            f"{found['per_request'] / first - 1:>+9.1%} "
            f"{found['per_scrape'] / 1e6:>15.2f} {found['idle_per_second'] / 1e6:>9.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
