"""`/metrics`: the node's Prometheus metrics, in the text format.

Served only when the operator sets a token (SIMGATE_METRICS_TOKEN), and then
only to requests that carry it (`Authorization: Bearer <token>`): without a
token the path does not exist (404), without the right one it answers 401.
The counters and histograms come from simgate.metrics; what needs the store
or this node's memory is read at scrape time (`NodeCollector`). A scrape
runs in a worker thread: its reads are bounded and never wait for the writer.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool

from simgate import metrics
from simgate.runtime import Runtime, RuntimeDep
from simgate.services import node_gauges

router = APIRouter(tags=["operations"])

# What a scrape counts at most per gauge read from the store: past it the
# gauge stays at the cap (docs/metrics.md) and the read costs no more.
COUNT_CAP = node_gauges.COUNT_CAP


@router.get("/metrics", include_in_schema=False)
async def scrape(request: Request, runtime: RuntimeDep) -> Response:
    token = runtime.settings.metrics_token
    if token is None:
        return Response("Not Found", status_code=404, media_type="text/plain")
    if not _authorized(request.headers.get("authorization", ""), token):
        return Response(
            "a bearer token is needed",
            status_code=401,
            media_type="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    body = await run_in_threadpool(render, runtime)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _authorized(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Constant time: the comparison does not tell how much of a guess was right.
    return hmac.compare_digest(given.strip().encode(), token.encode())


def render(runtime: Runtime) -> bytes:
    """The text a scrape answers: the process's instruments, then this node's gauges."""
    registry = CollectorRegistry()
    registry.register(_Forward(metrics.REGISTRY))
    registry.register(NodeCollector(runtime))
    return generate_latest(registry)


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()


class NodeCollector(Collector):
    """Gauges read when scraped: the store's queue and dead webhooks (bounded
    counts, services/node_gauges.py), this node's connected phones and its SQLite
    writer's queue."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        runtime = self.runtime
        counts = node_gauges.read(runtime.engine)
        waiting = GaugeMetricFamily(
            "simgate_messages_waiting",
            f"Messages not yet sent, by state (counted up to {COUNT_CAP:,}).",
            labels=["state"],
        )
        for state in node_gauges.MESSAGE_STATES:
            waiting.add_metric([state], counts.messages[state])
        yield waiting
        webhooks = GaugeMetricFamily(
            "simgate_webhooks",
            f"Webhooks in the outbox by state: pending or dead (counted up to {COUNT_CAP:,}).",
            labels=["state"],
        )
        for state in node_gauges.WEBHOOK_STATES:
            webhooks.add_metric([state], counts.webhooks[state])
        yield webhooks
        yield GaugeMetricFamily(
            "simgate_devices_connected",
            "Phones connected to this node (WebSocket agents and SMS Gateway apps).",
            value=len(runtime.hub.links),
        )
        queued = counts.writer_queue
        if queued is not None:
            yield GaugeMetricFamily(
                "simgate_sqlite_writer_queue",
                "Pieces of work waiting for the SQLite writer thread.",
                value=queued,
            )
