"""The process's Prometheus instruments, and counting what a transaction did
once it commits.

Counters and histograms live here, one set per process (a node is one
process), in a registry of simgate's own beside the process collector; the
code that does the thing counts it (services/, workers/, store/db.py). What
needs the store (queue depth, dead webhooks) is read at scrape time instead,
by api/metrics.py (through services/node_gauges.py). docs/metrics.md lists
every metric.

A count made inside a transaction must not outlive a rollback: the SQLite
writer reruns a batch without the job that failed, and a claim that raises
hands nothing over. `on_commit(conn, ...)` keeps the increments on the
connection and applies them when the transaction commits, or drops them when
it rolls back; engines opt in with `watch(engine)` (runtime.bootstrap), and on
an engine that did not (the command line's) the count is simply not kept.
"""

from __future__ import annotations

import math
import weakref
from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, event

# The `_created` series beside each counter double what a scrape sends, and
# Prometheus' rate() does not need them.
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)

# Latencies from milliseconds (a phone on the same LAN) to hours (a backlog).
_LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400)

messages_accepted = Counter(
    "simgate_messages_accepted",
    "Messages stored for sending (repeats of a stored id_sms_api are not counted again).",
    registry=REGISTRY,
)
messages_refused = Counter(
    "simgate_messages_refused",
    "Messages refused in an accepted request, by error code (docs/errors.md).",
    ["code"],
    registry=REGISTRY,
)
messages_dispatched = Counter(
    "simgate_messages_dispatched",
    "Hand-overs of a message to a phone (a message handed over again counts again).",
    registry=REGISTRY,
)
messages_sent = Counter(
    "simgate_messages_sent", "Messages a phone reported sent.", registry=REGISTRY
)
messages_delivered = Counter(
    "simgate_messages_delivered", "Messages with a delivery report.", registry=REGISTRY
)
messages_failed = Counter("simgate_messages_failed", "Messages that failed.", registry=REGISTRY)
messages_expired = Counter(
    "simgate_messages_expired",
    "Messages whose validity ended before a phone took them.",
    registry=REGISTRY,
)
handoff_seconds = Histogram(
    "simgate_handoff_seconds",
    "From when a message is due (accepted, or its send date) to its first hand-over to a phone.",
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
webhook_attempts = Counter(
    "simgate_webhook_attempts",
    "Webhook delivery attempts by outcome: delivered, retry (will be tried again) or dead.",
    ["outcome"],
    registry=REGISTRY,
)
webhook_delivery_seconds = Histogram(
    "simgate_webhook_delivery_seconds",
    "From when a webhook was queued to its delivery (retries included).",
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)


class OneThreadHistogram(Collector):
    """A histogram observed by one thread: bucket counts and a sum in plain
    Python, no lock.

    prometheus_client's Histogram takes a lock for its sum and one for the
    bucket, 2.4 µs an observation. The SQLite writer observes once a commit,
    and at one request a commit (a lone client) that was a per cent of a
    request's CPU (bench/instructions.py). Each of these is observed only by
    its own thread (the writer, its syncer: one of each in a server), and a
    scrape reads a copy, which may miss an observation under way."""

    def __init__(
        self, name: str, documentation: str, buckets: tuple[float, ...], registry: CollectorRegistry
    ) -> None:
        self.name, self.documentation = name, documentation
        self._bounds = buckets
        self._counts = [0] * (len(buckets) + 1)  # the last: above every bound (+Inf)
        self._sum = 0.0
        registry.register(self)

    def observe(self, value: float) -> None:
        # Buckets are "less than or equal": the first bound not below the value.
        self._counts[bisect_left(self._bounds, value)] += 1
        self._sum += value

    def collect(self) -> Iterator[Metric]:
        counts, total = list(self._counts), self._sum
        buckets, seen = [], 0
        for bound, n in zip((*self._bounds, math.inf), counts, strict=True):
            seen += n
            buckets.append(("+Inf" if bound == math.inf else repr(float(bound)), seen))
        yield HistogramMetricFamily(self.name, self.documentation, buckets=buckets, sum_value=total)


sqlite_commit_batch = OneThreadHistogram(
    "simgate_sqlite_commit_batch_size",
    "Pieces of work (requests, mostly) committed together by the SQLite writer.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
    registry=REGISTRY,
)
sqlite_sync_seconds = OneThreadHistogram(
    "simgate_sqlite_sync_seconds",
    "How long one fdatasync of the WAL by the SQLite writer's syncer took.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
    registry=REGISTRY,
)

# The labelled children used on hot paths, made once: `.labels()` costs a
# lock and a dict look-up per call.
_attempt_outcomes = {
    outcome: webhook_attempts.labels(outcome) for outcome in ("delivered", "retry", "dead")
}
_statuses: dict[str, Counter] = {
    "sent": messages_sent,
    "received": messages_delivered,  # inSIM's name for a delivery report
    "failed": messages_failed,
    "expired": messages_expired,
}


def webhook_attempt(outcome: str) -> None:
    _attempt_outcomes[outcome].inc()


def refused(codes: dict[str, int]) -> None:
    for code, n in codes.items():
        messages_refused.labels(code).inc(n)


# --- HTTP requests -------------------------------------------------------------------

# (route template, method, status) → answers. Counted on the event loop, the
# only thread that writes it, as a plain int: a prometheus_client Counter
# takes a lock per increment, which cost several microseconds a request
# (api/observed.py counts every request). Read by copying (one step under
# the GIL).
http_requests: dict[tuple[str, str, int], int] = {}


class _HttpRequests(Collector):
    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "simgate_http_requests",
            "HTTP requests answered, by route template, method and status.",
            labels=["route", "method", "status"],
        )
        for (route, method, status), n in sorted(dict(http_requests).items()):
            family.add_metric([route, method, str(status)], n)
        yield family


REGISTRY.register(_HttpRequests())


# --- counting at commit ------------------------------------------------------------

_PENDING = "simgate_metrics_pending"
_watched: weakref.WeakSet[Engine] = weakref.WeakSet()


def watch(engine: Engine) -> None:
    """Apply `on_commit` counts of `engine`'s transactions (idempotent)."""
    if engine in _watched:
        return
    _watched.add(engine)
    event.listen(engine, "commit", _committed)
    event.listen(engine, "rollback", _rolled_back)


def on_commit(conn: Connection, count: Callable[[], Any]) -> None:
    """Call `count` once the transaction of `conn` commits; never if it rolls back."""
    if conn.engine not in _watched:
        return
    info = conn.info
    pending = info.get(_PENDING)
    if pending is None:
        info[_PENDING] = [count]
    else:
        pending.append(count)


def status_on_commit(conn: Connection, status: str, n: int) -> None:
    """Count `n` messages reaching `status` (a status webhook's name) at commit."""
    counter = _statuses.get(status)
    if counter is not None and n:
        on_commit(conn, lambda: counter.inc(n))


def _committed(conn: Connection) -> None:
    pending = conn.info.pop(_PENDING, None)
    if pending:
        for count in pending:
            count()


def _rolled_back(conn: Connection) -> None:
    conn.info.pop(_PENDING, None)
