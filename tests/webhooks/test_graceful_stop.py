"""A stop asked for (SIGTERM: Runtime.shutdown_deadline set) lets the webhook
requests under way end instead of cutting them off; both stores."""

from __future__ import annotations

import time
from datetime import datetime

from simgate.config import Settings
from simgate.domain import payloads
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.webhooks.conftest import Recorder, emit, make_account, rows


def test_a_timed_stop_lets_the_requests_under_way_end(
    settings: Settings, recorder: Recorder
) -> None:
    recorder.default = (200, {}, 1.0)  # each answer takes a second
    sms = payloads.incoming_sms("user@example.com", "+33612345678", "hi", datetime(2026, 3, 1))
    live = LiveServer(settings, allow_private_callbacks=True).__enter__()
    try:
        account = make_account(live.engine, message=recorder.url + "/")
        sent = {emit(live.engine, account, "message", sms) for _ in range(3)}
        wait_for(lambda: recorder.active == 3, timeout=10)
        live.runtime.shutdown_deadline = time.monotonic() + 10  # what SIGTERM sets
        started = time.monotonic()
    finally:
        live.__exit__(None, None, None)
    assert time.monotonic() - started < 5
    assert {r["headers"]["webhook-id"] for r in recorder.acked()} == sent
    # Recorded as delivered, not handed back to be sent again by the next node.
    assert [r.state for r in rows(live.engine)] == ["done"] * 3
    live.engine.dispose()
