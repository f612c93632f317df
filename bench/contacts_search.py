"""Latency of POST /api/v2/contacts/search with 100,000 contacts in one account.

Starts a real `simgate serve` process on a temporary SQLite data dir, fills one
account with --contacts contacts (and a second account with 100, searched
alongside to show that the big one does not slow it), then posts a mix of
searches (whole names, prefixes, typos, one letter, parts of numbers) from
several keep-alive connections for a fixed time and prints p50/p99 and
searches per second. Also prints the first search (it builds the account's
in-memory index) and a search right after a write (it rebuilds it). Only
loopback is used.

    .venv/bin/python bench/contacts_search.py                # 100,000 contacts, 10 s
    .venv/bin/python bench/contacts_search.py --contacts 20000 --seconds 3
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from _support import cli, cpu_seconds

from simgate.config import Settings
from simgate.services.accounts import get_account
from simgate.store.contacts import upsert
from simgate.store.db import make_engine
from simgate.testing import ServerProcess

FIRST = (
    "Cécile Jean Marie Pierre Luc Anne Sophie Michel Nathalie Olivier Isabelle François "
    "Hélène Éric Julie Thomas Camille Léa Hugo Chloé Louis Manon Nicolas Sarah Antoine"
).split()
LAST = (
    "Dubois Martin Bernard Thomas Petit Robert Richard Durand Leroy Moreau Simon Laurent "
    "Lefèvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Mercier "
    "Dupont Lambert Bonnet François Martinez Légaré Noël Éluard"
).split()
SYLLABLES = (
    "ba be bi bo da de di do ga ge la le li lo ma me mi mo na ne ro ri sa se ta te va".split()
)

QUERIES = [
    "cecile dubois",  # exact, either order
    "dubois cecile",
    "martin",  # a whole word shared by thousands
    "dup",  # prefix
    "lef",
    "c",  # one letter
    "cecille duboiss",  # typos
    "nathali lefebvre",
    "gerrard",
    "zzqx wvy",  # nothing at all
    "06 12 34",  # part of a number
    "+33612345678",
    "bamo",  # inside generated names
]


def fill(settings: Settings, email: str, count: int, seed: int) -> None:
    rng = random.Random(seed)
    engine = make_engine(settings)
    with engine.connect() as conn:
        account_id = get_account(conn, email).id
    now = datetime.utcnow()
    rows = []
    for i in range(count):
        # A third common names, the rest a long tail (2 to 4 syllables): about
        # 70,000 distinct names in 100,000, like a real address book.
        if i % 3 == 0:
            last = rng.choice(LAST)
        else:
            last = "".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))).title()
        rows.append(
            {
                "account_id": account_id,
                "phone_number": f"+336{10000000 + i:08d}",
                "firstname": rng.choice(FIRST),
                "lastname": last,
                "address": "",
                "email": "",
                "created_at": now,
                "updated_at": now,
            }
        )
    with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            upsert(conn, rows[start : start + 5000])
    engine.dispose()


def post(conn: http.client.HTTPConnection, body: dict[str, object]) -> tuple[float, dict]:
    start = time.perf_counter()
    conn.request(
        "POST", "/api/v2/contacts/search", json.dumps(body), {"Content-Type": "application/json"}
    )
    response = conn.getresponse()
    data = json.loads(response.read())
    elapsed = time.perf_counter() - start
    if response.status != 200 or data.get("success") is not True:
        raise SystemExit(f"search failed: {response.status} {data}")
    return elapsed, data


def worker(port: int, creds: dict[str, str], stop_at: float, out: list[float], seed: int) -> None:
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while time.perf_counter() < stop_at:
        body = {**creds, "name": rng.choice(QUERIES), "mode": "smart", "fuzzy": True, "limit": 5}
        elapsed, _ = post(conn, body)
        out.append(elapsed)
    conn.close()


def percentiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    p99 = ordered[max(int(len(ordered) * 0.99) - 1, 0)]
    return statistics.median(ordered) * 1000, p99 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=2)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="simgate-bench-"))
    settings = Settings(data_dir=tmp / "data")
    big = json.loads(cli(settings, "accounts", "create", "big@example.com", "--json"))
    small = json.loads(cli(settings, "accounts", "create", "small@example.com", "--json"))
    started = time.perf_counter()
    fill(settings, big["login"], args.contacts, 1)
    fill(settings, small["login"], 100, 2)
    print(f"filled {args.contacts} contacts in {time.perf_counter() - started:.1f} s")
    env = {"SIMGATE_API_V2_REQUESTS_PER_MINUTE": "100000000"}
    server = ServerProcess(settings, env=env, log_path=tmp / "server.log")
    creds_big = {"login": big["login"], "accessKey": big["access_key"]}
    creds_small = {"login": small["login"], "accessKey": small["access_key"]}
    try:
        server.start()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        cold, _ = post(conn, {**creds_big, "name": "cecile dubois"})
        print(f"first search (builds the index of {args.contacts}): {cold * 1000:.0f} ms")
        for query in QUERIES:  # warm-up, and a look at what each finds
            _, data = post(conn, {**creds_big, "name": query, "limit": 3})
            top = [
                (c["firstname"], c["lastname"], c["score"], c["match_type"])
                for c in data["contacts"]
            ]
            print(f"  {query!r:20} {top}")
        alone: list[float] = []
        worker(server.port, creds_big, time.perf_counter() + args.seconds / 2, alone, 7)
        a50, a99 = percentiles(alone)
        print(
            f"one connection:  {len(alone)} searches, p50 {a50:.1f} ms, p99 {a99:.1f} ms "
            f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
        )
        results: list[list[float]] = [[] for _ in range(args.connections)]
        small_latencies: list[float] = []
        cpu_start = cpu_seconds(server.pid)
        start = time.perf_counter()
        stop_at = start + args.seconds
        threads = [
            threading.Thread(target=worker, args=(server.port, creds_big, stop_at, out, i))
            for i, out in enumerate(results)
        ]
        threads.append(
            threading.Thread(
                target=worker, args=(server.port, creds_small, stop_at, small_latencies, 99)
            )
        )
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        server_cpu = cpu_seconds(server.pid) - cpu_start
        latencies = [x for out in results for x in out]
        p50, p99 = percentiles(latencies)
        s50, s99 = percentiles(small_latencies)
        print(
            f"{os.cpu_count()} CPUs, {args.connections} connections on the big account "
            f"+ 1 on a 100-contact account, {args.seconds:g} s"
        )
        print(
            f"big account:   {len(latencies)} searches, {len(latencies) / elapsed:.0f}/s, "
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        )
        print(f"small account: {len(small_latencies)} searches, p50 {s50:.1f} ms, p99 {s99:.1f} ms")
        print(
            f"server CPU: {server_cpu / elapsed:.2f} cores, "
            f"{server_cpu * 1000 / max(len(latencies) + len(small_latencies), 1):.1f} ms a search"
        )
        # A write bumps the stamp: the next search rebuilds the index.
        conn.close()  # idle past the keep-alive timeout meanwhile
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        contact = {"firstname": "Zoé", "lastname": "Nouvelle", "phone_number": "+33699999999"}
        conn.request(
            "POST",
            "/api/v1/contact",
            json.dumps(
                {
                    "header": {"login": big["login"], "accessKey": big["access_key"]},
                    "contacts": [contact],
                }
            ),
            {"Content-Type": "application/json"},
        )
        conn.getresponse().read()
        rebuilt, data = post(conn, {**creds_big, "name": "zoe nouvelle"})
        assert data["contacts"][0]["lastname"] == "Nouvelle", data
        print(f"first search after a write (rebuilds the index): {rebuilt * 1000:.0f} ms")
        conn.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
