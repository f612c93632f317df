"""/metrics on a real server (one per store for the module): hidden without a
token, 401 without the right one, the text parsed by prometheus_client's own
parser, and the counters moving where the things happen: a sendsms through
the short way in, a phone that takes, sends and delivers one message and
fails another, the status webhooks delivered to a receiver."""

from __future__ import annotations

import json
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from simgate.app import create_app
from simgate.config import Settings
from simgate.runtime import runtime_of
from simgate.services.accounts import create_account
from simgate.services.devices import add_device
from simgate.services.webhook_admin import set_callbacks
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.support.sockets import Sockets, next_frame
from tests.webhooks.conftest import Recorder

TOKEN = "metrics-token-for-the-tests-0123"
SENDSMS = 'simgate_http_requests_total{method="POST",route="/api/v1/sendsms",status="200"}'
DELIVERED_HOOKS = 'simgate_webhook_attempts_total{outcome="delivered"}'


@pytest.fixture(scope="module")
def metrics_server(shared_settings: Settings) -> Iterator[LiveServer]:
    # A failed send is not tried again; webhooks are claimed soon after a failure.
    with LiveServer(
        shared_settings, metrics_token=TOKEN, max_send_attempts=1, webhook_poll_seconds=0.2
    ) as live:
        yield live


def scrape(server: LiveServer) -> dict[str, float]:
    """Every sample of a scrape: `name{label="value",...}` → value."""
    response = server.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def test_scrape_parses_with_every_family(metrics_server: LiveServer) -> None:
    samples = scrape(metrics_server)
    for name in (
        "simgate_messages_accepted_total",
        "simgate_messages_dispatched_total",
        "simgate_messages_sent_total",
        "simgate_messages_delivered_total",
        "simgate_messages_failed_total",
        "simgate_messages_expired_total",
        "simgate_handoff_seconds_count",
        "simgate_webhook_delivery_seconds_count",
        'simgate_messages_waiting{state="queued"}',
        'simgate_webhooks{state="dead"}',
        "simgate_devices_connected",
        "process_cpu_seconds_total",
    ):
        assert name in samples, name
    on_sqlite = metrics_server.engine.dialect.name == "sqlite"
    assert ("simgate_sqlite_writer_queue" in samples) == on_sqlite


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer wrong-token-of-the-right-size",
        f"Basic {TOKEN}",
        f"Bearer {TOKEN}x",
    ],
)
def test_wrong_or_missing_token_is_401(
    metrics_server: LiveServer, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = metrics_server.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "simgate_" not in response.text


async def test_no_token_no_metrics(tmp_path: Path, sqlite_template: Path) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "simgate.db")
    app = create_app(Settings(data_dir=tmp_path), migrate=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        for headers in ({}, {"Authorization": f"Bearer {TOKEN}"}):
            assert (await client.get("/metrics", headers=headers)).status_code == 404
    runtime_of(app).engine.dispose()


def test_short_token_refused_at_start() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        Settings(metrics_token="short")


def test_grafana_dashboard_reads_only_metrics_we_serve(metrics_server: LiveServer) -> None:
    dashboard = Path(__file__).parents[2] / "docs" / "grafana-dashboard.json"
    text = dashboard.read_text()
    json.loads(text)  # valid JSON, for Grafana's import
    used = {
        re.sub(r"_(total|bucket|sum|count)$", "", name)
        for name in re.findall(r"\b(?:simgate|process)_[a-z_]+", text)
    }
    response = metrics_server.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    served = {family.name for family in text_string_to_metric_families(response.text)}
    if metrics_server.engine.dialect.name != "sqlite":
        used.discard("simgate_sqlite_writer_queue")  # the SQLite writer's alone
    assert used and used <= served, used - served


# --- the counters move where the things happen ---------------------------------


@pytest.fixture
def receiver() -> Iterator[Recorder]:
    recorder = Recorder().start()
    yield recorder
    recorder.stop()


def delta(before: dict[str, float], after: dict[str, float], name: str) -> float:
    return after.get(name, 0.0) - before.get(name, 0.0)


def scraped_once(
    live: LiveServer, before: dict[str, float], name: str, moved: float
) -> dict[str, float] | None:
    """A scrape once `name` moved by `moved` since `before`, else None."""
    samples = scrape(live)
    return samples if delta(before, samples, name) >= moved else None


def refused(samples: dict[str, float]) -> float:
    return sum(v for k, v in samples.items() if k.startswith("simgate_messages_refused_total"))


def test_a_message_counted_from_request_to_webhook(
    metrics_server: LiveServer, receiver: Recorder
) -> None:
    account, key = create_account(
        metrics_server.engine, f"{secrets.token_hex(4)}@example.com", "Europe/Paris", "FR"
    )
    set_callbacks(
        metrics_server.engine, account.email, {"status": receiver.url + "/hook"}, allow_private=True
    )
    sockets = Sockets(metrics_server.url)
    try:
        phone = sockets.join(add_device(metrics_server.engine, account.email, "phone", 6000)[1])
        before = scrape(metrics_server)
        items: list[dict[str, Any]] = [
            {"phone_number": "+33612000001", "message": "delivered"},
            {"phone_number": "+33612000002", "message": "failed"},
            {"phone_number": "not a number", "message": "refused"},
        ]
        response = metrics_server.post(
            "/api/v1/sendsms",
            json={"header": {"login": account.email, "accessKey": key}, "messages": items},
        )
        assert [a["sent"] for a in response.json()] == [1, 1, 0]
        good, bad = next_frame(phone, "send_sms"), next_frame(phone, "send_sms")
        for command in (good, bad):
            phone.send(json.dumps({"type": "ack", "id": command["id"]}))
        frames = [
            {"type": "result", "ref": "r1", "id": good["id"], "status": "sent"},
            {"type": "delivery", "ref": "d1", "id": good["id"], "status": "delivered"},
            {"type": "result", "ref": "r2", "id": bad["id"], "status": "failed", "reason": "x"},
        ]
        for frame in frames:
            phone.send(json.dumps(frame))
        assert {next_frame(phone, "ack")["ref"] for _ in frames} == {"r1", "d1", "r2"}
        # sent, received and failed status webhooks, each delivered once.
        after = wait_for(lambda: scraped_once(metrics_server, before, DELIVERED_HOOKS, 3))
        assert len(receiver.acked()) == 3
        assert delta(before, after, "simgate_devices_connected") == 0
        assert after["simgate_devices_connected"] >= 1
    finally:
        sockets.close()
    expected = {
        SENDSMS: 1,
        "simgate_messages_accepted_total": 2,
        "simgate_messages_dispatched_total": 2,
        "simgate_handoff_seconds_count": 2,
        "simgate_messages_sent_total": 1,
        "simgate_messages_delivered_total": 1,
        "simgate_messages_failed_total": 1,
        "simgate_messages_expired_total": 0,
        DELIVERED_HOOKS: 3,
        "simgate_webhook_delivery_seconds_count": 3,
    }
    assert {name: delta(before, after, name) for name in expected} == expected
    assert refused(after) - refused(before) == 1
    assert after["simgate_handoff_seconds_sum"] >= before.get("simgate_handoff_seconds_sum", 0)


def test_requests_counted_by_route_template(metrics_server: LiveServer) -> None:
    before = scrape(metrics_server)
    assert metrics_server.get("/healthz").status_code == 200
    assert metrics_server.get("/no/such-page").status_code == 404
    after = scrape(metrics_server)
    assert (
        delta(
            before, after, 'simgate_http_requests_total{method="GET",route="/healthz",status="200"}'
        )
        == 1
    )
    # The scrape itself is a request too: counted once it answered.
    assert (
        delta(
            before, after, 'simgate_http_requests_total{method="GET",route="/metrics",status="200"}'
        )
        == 1
    )
    unmatched = [k for k in after if 'route="unmatched"' in k and delta(before, after, k)]
    templated = [k for k in after if "such-page" in k]
    assert unmatched and not templated
