"""Reads at scale: every dashboard page and v2 read endpoint at 0 to 1,000,000 messages.

For each store (SQLite; PostgreSQL in a throwaway cluster, or --database-url)
and each size, it makes a fresh store, fills one account with `size`
messages of lived-in history (store/bulk.py: states, numbers, 90 days, links
and clicks, received SMS, calls, qualifications, webhook deliveries, contacts,
lists, campaigns; about one done webhook per message) plus three small
accounts, starts a real `simgate serve` and measures, `--repeat` times each,
one request after another on one keep-alive connection:

- every dashboard page, signed in over HTTP with a real session;
- every v2 read endpoint, with each filter;
- the dispatcher's claim: from accept to hand-over to an idle simulated phone
  (a real `simgate device run`), once `size` messages are scheduled for later;
- the webhook sender's claim: from a status webhook written to its delivery
  (to a receiver on loopback), with the done deliveries of the history stored.

It prints one table per store and size (p50/p99/max in ms, and the server's
CPU ms per request, steadier than wall time on a shared machine), then the
p99s side by side. Only loopback is used. Retention is off in the server so
the rows measured stay put.

    python bench/scale.py                                  # 0, 100k, 1M on SQLite
    python bench/scale.py --sizes 0,100000 --stores sqlite,postgres --repeat 20
    python bench/scale.py --stores postgres --database-url postgresql://u@127.0.0.1/db
"""

from __future__ import annotations

import argparse
import http.server
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from _support import cpu_seconds
from sqlalchemy import Engine, select

from simgate.config import Settings
from simgate.domain.sample_history import Shape, phone_number, scrambled
from simgate.services.accounts import create_account
from simgate.services.devices import add_device
from simgate.services.passwords import hash_password
from simgate.services.webhook_admin import set_callbacks
from simgate.store import bulk
from simgate.store.db import make_engine, upgrade
from simgate.store.tables import messages, webhooks
from simgate.testing import AgentProcess, ServerProcess

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"
# The server as measured: nothing pruned under the measure, no v2 rate limit.
SERVER_ENV = {
    "SIMGATE_RETENTION_WEBHOOKS_DONE_DAYS": "0",
    "SIMGATE_RETENTION_WEBHOOKS_DEAD_DAYS": "0",
    "SIMGATE_RETENTION_DEVICE_REFS_DAYS": "0",
    "SIMGATE_RETENTION_MESSAGE_EVENTS_DAYS": "0",
    "SIMGATE_API_V2_REQUESTS_PER_MINUTE": "1000000",
}


@dataclass
class Figures:
    name: str
    latencies: list[float]  # seconds
    cpu_ms: float = float("nan")  # server CPU per request
    failed: str = ""

    def p(self, share: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] * 1000


@dataclass
class Filled:
    """What was filled, so that pages and endpoints can name real rows."""

    settings: Settings
    account_id: int
    email: str  # the login too
    key: str
    device_token: str
    first: dict[str, int]  # first ids of the main account's rows
    size: int
    fill_seconds: float


# --- stores -----------------------------------------------------------------------


@contextmanager
def postgres_urls(database_url: str | None) -> Iterator[Callable[[], str]]:
    """A fresh database per call: in the given server's cluster, or in a
    throwaway cluster started like the tests do (tests/support/postgres.py;
    fsync off, which only the claims' writes would feel)."""
    if database_url:
        yield lambda: database_url
        return
    sys.path.insert(0, str(REPO))
    from tests.support.postgres import find_cluster

    cluster = find_cluster()
    if cluster is None:
        raise SystemExit("no PostgreSQL binaries here; pass --database-url")
    try:
        created: list[str] = []

        def fresh() -> str:
            name = "scale_" + secrets.token_hex(4)
            cluster.create_database(name)
            created.append(name)
            return cluster.url(name)

        yield fresh
    finally:
        cluster.stop()


def fill(settings: Settings, size: int) -> Filled:
    """A migrated store with the main account (a password, a phone, `size`
    messages of history) and three small accounts; through the services and
    store/bulk, in this process."""
    engine = make_engine(settings)
    try:
        upgrade(engine)
        email = "scale@example.com"
        account, key = create_account(
            engine, email, "Europe/Paris", "FR", password_hash=hash_password(PASSWORD)
        )
        device_id, token = add_device(engine, email, "phone", 60_000, "agent", None)
        others = [
            create_account(engine, f"other{n}@example.com", "Europe/Paris", "FR")[0]
            for n in range(3)
        ]
        now = datetime.now(UTC).replace(tzinfo=None)
        with engine.begin() as conn:
            first = bulk.first_ids(conn)
        started = time.perf_counter()
        bulk.load_history(engine, account.id, Shape(size), now, device_id=device_id)
        for other in others:
            bulk.load_history(engine, other.id, Shape(max(200, size // 100), seed=other.id), now)
        bulk.analyze(engine)
        took = time.perf_counter() - started
    finally:
        engine.dispose()
    return Filled(settings, account.id, email, key, token, first, size, took)


# --- what is measured -------------------------------------------------------------


def pages(filled: Filled) -> list[tuple[str, str]]:
    """(name, path) of every dashboard page that reads history."""
    today = datetime.now(UTC).date()
    busy = phone_number(0)  # the pool's first number gets the most messages
    week = urlencode(
        {"from": str(today - timedelta(days=37)), "to": str(today - timedelta(days=30))}
    )
    out = [
        ("overview", "/app/"),
        ("messages", "/app/messages"),
        ("messages page 200", "/app/messages?page=200"),
        ("messages by number", "/app/messages?" + urlencode({"number": busy})),
        ("messages by part of number", "/app/messages?number=" + busy[-6:]),
        ("messages by state", "/app/messages?state=failed"),
        ("messages by week", "/app/messages?" + week),
        ("links", "/app/links"),
        ("calls", "/app/calls"),
        ("contacts", "/app/contacts"),
        ("lists", "/app/lists"),
        ("templates", "/app/templates"),
        ("campaigns", "/app/campaigns"),
        ("webhooks deliveries", "/app/webhooks"),
        ("opt-outs", "/app/optouts"),
        ("policy", "/app/policy"),
        ("devices", "/app/devices"),
    ]
    if filled.size:
        middle = filled.first["messages"] + filled.size // 2
        out.insert(7, ("message detail", f"/app/messages/{middle}"))
        out.insert(10, ("contact detail", f"/app/contacts/{filled.first['contacts']}"))
        out.append(("list detail", f"/app/lists/{filled.first['contact_lists']}"))
    if filled.size >= 120:  # campaigns come with 120 messages or more (Shape)
        out.append(("campaign detail", f"/app/campaigns/{filled.first['campaigns']}"))
    return out


def endpoints(filled: Filled) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, v2 endpoint, fields) of every v2 read, with each filter."""
    today = datetime.now(UTC).date()
    month = {
        "date_from": str(today - timedelta(days=60)),
        "date_to": str(today - timedelta(days=30)),
    }
    busy = phone_number(0)
    first_message = filled.first["messages"]
    ids = [scrambled(first_message + k * 997, 60) for k in range(5)]
    out: list[tuple[str, str, dict[str, Any]]] = [
        ("sms", "sms", {"limit": 5}),
        ("sms inbound", "sms", {"direction": "inbound", "limit": 5}),
        ("sms outbound", "sms", {"direction": "outbound", "limit": 5}),
        ("sms by number", "sms", {"phone_number": busy, "limit": 5}),
        ("sms by dates", "sms", {**month, "limit": 5}),
        ("sms/conversation", "sms/conversation", {"phone_number": busy, "limit": 20}),
        ("contacts", "contacts", {"limit": 10}),
        ("contacts by last name", "contacts", {"limit": 10, "sort": "lastname", "order": "asc"}),
        ("contacts search text", "contacts", {"limit": 10, "search": "dub"}),
        ("contacts/search", "contacts/search", {"name": "cecile dubois", "limit": 5}),
        ("find_contact", "find_contact", {"phone_number": busy}),
        ("calls", "calls", {"limit": 10}),
        ("calls missed", "calls", {"type": "missed", "limit": 10}),
        ("calls by number", "calls", {"phone_number": busy, "limit": 10}),
        ("qualifications", "qualifications", {"limit": 10}),
        ("qualifications/stats", "qualifications/stats", {}),
        ("stats/overview", "stats/overview", {"date_from": "", "date_to": ""}),
        ("stats/overview month", "stats/overview", month),
        ("stats/clicks", "stats/clicks", {"limit": 10}),
        ("campaigns", "campaigns", {"limit": 10}),
        ("lists", "lists", {}),
        ("templates", "templates", {}),
        ("optouts", "optouts", {"limit": 10}),
        ("account", "account", {}),
    ]
    if filled.size:
        out[5:5] = [
            ("sms/detail", "sms/detail", {"sms_id": ids[0]}),
            ("sms/delivery_status x5", "sms/delivery_status", {"sms_ids": ids}),
        ]
        out.append(
            ("lists/detail", "lists/detail", {"list_id": str(filled.first["contact_lists"])})
        )
    if filled.size >= 120:
        out.append(
            (
                "campaigns/detail",
                "campaigns/detail",
                {"campaign_id": str(filled.first["campaigns"])},
            )
        )
    return out


def timed(name: str, pid: int, repeat: int, request: Callable[[], httpx.Response]) -> Figures:
    first = request()  # warm: code paths, caches, the page cache
    if first.status_code != 200 or b'"success":false' in first.content[:200]:
        return Figures(name, [], failed=f"{first.status_code} {first.text[:120]!r}")
    latencies = []
    cpu = cpu_seconds(pid)
    for _ in range(repeat):
        started = time.perf_counter()
        answer = request()
        latencies.append(time.perf_counter() - started)
        if answer.status_code != 200:
            return Figures(name, latencies, failed=f"{answer.status_code}")
    return Figures(name, latencies, (cpu_seconds(pid) - cpu) * 1000 / repeat)


def sign_in(client: httpx.Client, email: str) -> None:
    page = client.get("/app/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post(
        "/app/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    if answer.status_code != 303:
        raise SystemExit(f"sign-in refused: {answer.status_code} {answer.text[:200]}")


def measure_reads(filled: Filled, server: ServerProcess, repeat: int) -> list[Figures]:
    out = []
    with httpx.Client(base_url=server.url, timeout=120) as client:
        sign_in(client, filled.email)
        for name, path in pages(filled):
            out.append(timed("page " + name, server.pid, repeat, lambda p=path: client.get(p)))
            print(".", end="", flush=True)
    header = {"login": filled.email, "accessKey": filled.key}
    with httpx.Client(base_url=server.url, timeout=120) as client:
        for name, endpoint, fields in endpoints(filled):
            body = {**header, **fields}
            out.append(
                timed(
                    "v2 " + name,
                    server.pid,
                    repeat,
                    lambda e=endpoint, b=body: client.post(f"/api/v2/{e}", json=b),
                )
            )
            print(".", end="", flush=True)
    print()
    return out


# When each webhook reached the receiver, by its webhook-id (UTC, naive like
# the store's times): the sender records a delivery a flush later.
ARRIVALS: dict[str, datetime] = {}


class _Receiver(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        ARRIVALS.setdefault(
            self.headers.get("webhook-id", ""), datetime.now(UTC).replace(tzinfo=None)
        )
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def receiver() -> Iterator[str]:
    """A webhook receiver on loopback answering 200 to everything."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/status"
    finally:
        server.shutdown()


def measure_claims(filled: Filled, folder: Path, count: int) -> list[Figures]:
    """Accept → hand-over to an idle phone with `size` messages scheduled for
    later, and status webhook written → delivered."""
    settings = filled.settings
    engine = make_engine(settings)
    try:
        if filled.size:
            started = time.perf_counter()
            now = datetime.now(UTC).replace(tzinfo=None)
            bulk.load_scheduled(engine, filled.account_id, filled.size, now)
            bulk.analyze(engine)
            print(
                f"  + {filled.size:,} scheduled messages in {time.perf_counter() - started:.0f} s"
            )
        with receiver() as url:
            set_callbacks(engine, filled.email, {"status": url}, allow_private=True)
            with ServerProcess(settings, env=SERVER_ENV, log_path=folder / "claims.log") as server:
                agent = AgentProcess(
                    server.url, filled.device_token, folder / "phone",
                    "--sent-delay", "0", "--delivery-delay", "0", "--no-fsync",
                ).start()  # fmt: skip
                try:
                    return _claims(engine, server, filled, count, url)
                finally:
                    agent.kill()
    finally:
        engine.dispose()


def _claims(
    engine: Engine, server: ServerProcess, filled: Filled, count: int, url: str
) -> list[Figures]:
    header = {"login": filled.email, "accessKey": filled.key}
    with httpx.Client(base_url=server.url, timeout=60) as client:

        def send(i: int) -> None:
            item = {"phone_number": f"+336{99000000 + i:08d}", "message": f"claim {i}"}
            answer = client.post("/api/v1/sendsms", json={"header": header, "messages": [item]})
            if b'"sent":1' not in answer.content:
                raise SystemExit(f"sendsms refused: {answer.text[:200]}")

        # The phone is up once a first message reaches it.
        since = datetime.now(UTC).replace(tzinfo=None)
        send(0)
        _wait(engine, lambda conn: _handed(conn, since, 1))
        since = datetime.now(UTC).replace(tzinfo=None)
        for i in range(1, count + 1):
            send(i)
            time.sleep(0.2)  # an idle phone each time, not a queue
        rows = _wait(engine, lambda conn: _handed(conn, since, count))
        handed = [(r.dispatched_at - r.created_at).total_seconds() for r in rows]
        hooks = _wait(engine, lambda conn: _delivered(conn, since, url, 2 * count))
    delivered = [(ARRIVALS[r.event_id] - r.created_at).total_seconds() for r in hooks]
    return [
        Figures("claim: accept → phone", handed),
        Figures("claim: webhook → receiver", delivered),
    ]


def _handed(conn: Any, since: datetime, count: int) -> list[Any] | None:
    rows = conn.execute(
        select(messages.c.created_at, messages.c.dispatched_at).where(
            messages.c.created_at >= since, messages.c.dispatched_at.is_not(None)
        )
    ).all()
    return rows if len(rows) >= count else None


def _delivered(conn: Any, since: datetime, url: str, count: int) -> list[Any] | None:
    # To the receiver's URL only: the history holds pending deliveries of its own.
    rows = conn.execute(
        select(webhooks.c.created_at, webhooks.c.event_id).where(
            webhooks.c.created_at >= since, webhooks.c.state == "done", webhooks.c.url == url
        )
    ).all()
    return rows if len(rows) >= count else None


def _wait(
    engine: Engine, probe: Callable[[Any], list[Any] | None], timeout: float = 60
) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            found = probe(conn)
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the dispatcher or the webhook sender")
        time.sleep(0.1)


# --- output -----------------------------------------------------------------------


def print_table(store: str, filled: Filled, figures: list[Figures]) -> None:
    load = os.getloadavg()[0]
    print(
        f"\n{store}, {filled.size:,} messages in one account "
        f"(filled in {filled.fill_seconds:.0f} s; load average {load:.1f})"
    )
    # On PostgreSQL the database's own CPU is in another process, not here.
    print(f"{'what':<34} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'CPU ms':>7}  (simgate's)")
    for f in figures:
        if f.failed:
            print(f"{f.name:<34} failed: {f.failed}")
            continue
        print(
            f"{f.name:<34} {f.p(0.5):>8.1f} {f.p(0.99):>8.1f} {max(f.latencies) * 1000:>8.1f} "
            f"{f.cpu_ms:>7.1f}"
        )
    sys.stdout.flush()


def print_summary(results: dict[tuple[str, int], list[Figures]]) -> None:
    """p99 (ms) per row and (store, size), the table the README shows."""
    columns = list(results)
    names: list[str] = []
    # The biggest store first: it has every row (detail pages need rows).
    for figures in sorted(results.values(), key=len, reverse=True):
        names += [f.name for f in figures if f.name not in names]
    heads = [f"{store} {size // 1000}k" if size else f"{store} 0" for store, size in columns]
    print("\np99 ms (p50 in brackets)")
    print(f"| {'what':<32} | " + " | ".join(f"{h:>17}" for h in heads) + " |")
    print(f"|{'-' * 34}|" + "|".join("-" * 18 + ":" for _ in heads) + "|")
    for name in names:
        cells = []
        for column in columns:
            found = [f for f in results[column] if f.name == name]
            if not found or found[0].failed or not found[0].latencies:
                cells.append(f"{'—':>17}")
            else:
                cells.append(f"{found[0].p(0.99):>8.0f} ({found[0].p(0.5):>6.0f})")
        print(f"| {name:<32} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,100000,1000000", help="messages in the account")
    parser.add_argument("--stores", default="sqlite", help="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per read")
    parser.add_argument("--claims", type=int, default=40, help="messages sent to time the claims")
    parser.add_argument("--no-claims", action="store_true", help="reads only")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server to use")
    parser.add_argument("--keep", action="store_true", help="keep the data dirs and logs")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    stores = [s.strip() for s in args.stores.split(",")]
    if args.database_url and len(sizes) > 1 and "postgres" in stores:
        raise SystemExit("--database-url holds one size: give --sizes one value")

    results: dict[tuple[str, int], list[Figures]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="simgate-scale-"))
    try:
        with postgres_urls(args.database_url) if "postgres" in stores else _no_pg() as fresh:
            for store in stores:
                for size in sizes:
                    folder = tmp / f"{store}-{size}"
                    url = fresh() if store == "postgres" else None
                    settings = Settings(data_dir=folder / "data", database_url=url)
                    filled = fill(settings, size)
                    print(f"{store} {size:,}: filled in {filled.fill_seconds:.0f} s", flush=True)
                    log = folder / "server.log"
                    with ServerProcess(settings, env=SERVER_ENV, log_path=log) as server:
                        figures = measure_reads(filled, server, args.repeat)
                    if not args.no_claims:
                        figures += measure_claims(filled, folder, args.claims)
                    results[(store, size)] = figures
                    print_table(store, filled, figures)
                    if not args.keep:
                        shutil.rmtree(folder, ignore_errors=True)
        print_summary(results)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def _no_pg() -> Iterator[Callable[[], str]]:
    def refuse() -> str:
        raise AssertionError("no PostgreSQL asked for")

    yield refuse


if __name__ == "__main__":
    main()
