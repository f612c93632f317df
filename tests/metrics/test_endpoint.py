"""/metrics on a real server: hidden without a token, 401 without the right
one, and the text parsed by prometheus_client's own parser."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from simgate.app import create_app
from simgate.config import Settings
from simgate.runtime import runtime_of
from tests.support.servers import LiveServer

TOKEN = "metrics-token-for-the-tests-0123"


@pytest.fixture(scope="module")
def metrics_server(shared_settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(shared_settings, metrics_token=TOKEN) as live:
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
