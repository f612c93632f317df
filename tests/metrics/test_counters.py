"""The counters move where the things happen: a sendsms through the short way
in, a phone that takes, sends and delivers one message and fails another,
and the status webhooks delivered to a receiver; read back from /metrics."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from simgate.config import Settings
from simgate.services.accounts import create_account
from simgate.services.devices import add_device
from simgate.services.webhook_admin import set_callbacks
from tests.metrics.test_endpoint import TOKEN, scrape
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.support.sockets import Sockets, next_frame
from tests.webhooks.conftest import Recorder

SENDSMS = 'simgate_http_requests_total{method="POST",route="/api/v1/sendsms",status="200"}'
DELIVERED_HOOKS = 'simgate_webhook_attempts_total{outcome="delivered"}'


@pytest.fixture(scope="module")
def live(shared_settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(
        shared_settings, metrics_token=TOKEN, max_send_attempts=1, webhook_poll_seconds=0.2
    ) as server:
        yield server


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


def test_a_message_counted_from_request_to_webhook(live: LiveServer, receiver: Recorder) -> None:
    account, key = create_account(
        live.engine, f"{secrets.token_hex(4)}@example.com", "Europe/Paris", "FR"
    )
    set_callbacks(
        live.engine, account.email, {"status": receiver.url + "/hook"}, allow_private=True
    )
    sockets = Sockets(live.url)
    try:
        phone = sockets.join(add_device(live.engine, account.email, "phone", 6000)[1])
        before = scrape(live)
        items: list[dict[str, Any]] = [
            {"phone_number": "+33612000001", "message": "delivered"},
            {"phone_number": "+33612000002", "message": "failed"},
            {"phone_number": "not a number", "message": "refused"},
        ]
        response = live.post(
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
        after = wait_for(lambda: scraped_once(live, before, DELIVERED_HOOKS, 3))
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


def test_requests_counted_by_route_template(live: LiveServer) -> None:
    before = scrape(live)
    assert live.get("/healthz").status_code == 200
    assert live.get("/no/such-page").status_code == 404
    after = scrape(live)
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
