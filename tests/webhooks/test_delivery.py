"""The wire and the retry rules, against a bare receiver that keeps raw bytes."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest

from simgate.config import Settings
from simgate.domain import payloads
from simgate.domain.payloads import encode_uri_component, json_text
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.webhooks.conftest import Recorder, emit, make_account, rows

RICH = '50% off & more = 2+2 #1 à São Paulo, crème brûlée 🎉👍🏽 "quoted" \\ / ? %41'
WHEN = datetime(2026, 3, 1, 12, 30, 15, 123456)


def sms(text: str = RICH) -> dict[str, object]:
    return payloads.incoming_sms("user@example.com", "+33612345678", text, WHEN)


def test_raw_query_is_param_plus_encode_uri_component(
    fast_server: LiveServer, recorder: Recorder
) -> None:
    account = make_account(fast_server.engine, message=recorder.url + "/hook")
    payload = sms()
    emit(fast_server.engine, account, "message", payload)
    wait_for(recorder.acked)
    target = recorder.requests[0]["target"]
    expected = "/hook?message=" + encode_uri_component(json_text(payload))
    assert target == expected  # byte for byte: the request line as it came
    # JavaScript's encodeURIComponent leaves exactly these unescaped.
    assert "!" not in json_text(payload) or "!" in target
    assert "%25" in target and "%26" in target and "%2B" in target and "%23" in target
    assert wait_for(lambda: rows(fast_server.engine)[0].state == "done")


def test_callback_url_keeps_its_own_query(fast_server: LiveServer, recorder: Recorder) -> None:
    account = make_account(fast_server.engine, status=recorder.url + "/cb?token=abc&x=1")
    payload = payloads.delivery_status("user@example.com", "+33612345678", "sent", WHEN, "id1")
    emit(fast_server.engine, account, "status", payload)
    wait_for(recorder.acked)
    assert recorder.requests[0]["target"] == (
        "/cb?token=abc&x=1&status=" + encode_uri_component(json_text(payload))
    )


def test_500_twice_then_200_arrives_after_retries(
    fast_server: LiveServer, recorder: Recorder
) -> None:
    recorder.answers = [500, 500]
    account = make_account(fast_server.engine, message=recorder.url + "/")
    event_id = emit(fast_server.engine, account, "message", sms("hello"))
    wait_for(recorder.acked, timeout=10)
    assert [r["status"] for r in recorder.requests] == [500, 500, 200]
    row = wait_for(lambda: [r for r in rows(fast_server.engine) if r.state == "done"])[0]
    assert row.event_id == event_id and row.attempts == 3 and row.last_status == 200


def test_410_is_dead_at_once(fast_server: LiveServer, recorder: Recorder) -> None:
    recorder.default = 410
    account = make_account(fast_server.engine, message=recorder.url + "/")
    emit(fast_server.engine, account, "message", sms("gone"))
    row = wait_for(lambda: [r for r in rows(fast_server.engine) if r.state == "dead"])[0]
    assert row.attempts == 1 and row.last_status == 410
    assert len(recorder.requests) == 1


def test_redirect_is_not_followed_and_retried_then_dead(
    fast_server: LiveServer, recorder: Recorder
) -> None:
    recorder.default = (302, {"Location": recorder.url + "/elsewhere"})
    account = make_account(fast_server.engine, message=recorder.url + "/")
    emit(fast_server.engine, account, "message", sms("moved"))
    row = wait_for(lambda: [r for r in rows(fast_server.engine) if r.state == "dead"])[0]
    # One attempt and three retries of the schedule, never the redirect target.
    assert row.attempts == 4 and row.last_status == 302
    assert "redirect" in row.last_error
    assert all(not r["target"].startswith("/elsewhere") for r in recorder.requests)


def test_sender_wakes_on_commit_not_on_the_next_poll(
    settings: Settings, recorder: Recorder
) -> None:
    import time

    # A poll of 30 s: only the commit hook can deliver within the test's time.
    with LiveServer(settings, webhook_poll_seconds=30) as live:
        account = make_account(live.engine, message=recorder.url + "/")
        # The first delivery also opens the sender's connection: not timed.
        emit(live.engine, account, "message", sms("warm-up"))
        wait_for(lambda: len(recorder.acked()) > 0, timeout=10, every=0.005)
        latencies = []
        for n in range(1, 5):
            start = time.monotonic()
            emit(live.engine, account, "message", sms(f"wake {n}"))
            wait_for(lambda: len(recorder.acked()) > n, timeout=10, every=0.005)  # noqa: B023
            latencies.append(time.monotonic() - start)
    assert max(latencies) < 0.5, latencies


def test_a_url_that_cannot_be_sent_fails_its_attempts_then_dies(fast_server: LiveServer) -> None:
    from sqlalchemy import update

    from simgate.store.tables import webhooks

    account = make_account(fast_server.engine, message="http://127.0.0.1:9/")
    event_id = emit(fast_server.engine, account, "message", sms("x"))
    with fast_server.engine.begin() as conn:
        # Written behind the validation's back (an older row, a hand edit): httpx refuses it.
        conn.execute(
            update(webhooks).where(webhooks.c.event_id == event_id).values(url="http://[::1/")
        )
    row = wait_for(lambda: [r for r in rows(fast_server.engine) if r.state == "dead"], timeout=10)
    assert row[0].attempts == 4 and row[0].last_error.startswith("cannot send")


def test_payloads_never_reach_the_logs(
    fast_server: LiveServer, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    account = make_account(fast_server.engine, message=recorder.url + "/")
    recorder.answers = [500]
    emit(fast_server.engine, account, "message", sms("secret-text-4711"))
    wait_for(recorder.acked)
    assert "secret-text-4711" not in caplog.text
    assert "4711" not in caplog.text
