"""The smsgate-local driver against a stand-in of the app's local server
(tests/support/smsgate_local_phone.py), without a simgate server: what it
posts, what it reports, and that nothing is sent twice or lost whatever the
phone does."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from simgate.device.drivers import (
    Delivered,
    Failed,
    IncomingSms,
    Sent,
    Undelivered,
)
from simgate.device.drivers.smsgate_api import query_time, read_progress
from simgate.device.drivers.smsgate_local import PhoneApi, SmsGateLocal
from tests.support.driver_reading import Reading, until
from tests.support.smsgate_local_phone import FakeSmsGateApp

FAST = {"poll": 0.03, "inbox_poll": 0.03, "timeout": 2.0}


@pytest.fixture
def app() -> Iterator[FakeSmsGateApp]:
    with FakeSmsGateApp(step=0.02) as fake:
        yield fake


def driver(app: FakeSmsGateApp, folder: Path, **options: Any) -> SmsGateLocal:
    api = PhoneApi(app.url, app.user, app.password, **{**FAST, **options})
    return SmsGateLocal(api, folder)


# --- reading the app's states (pure) ----------------------------------------------

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def snapshot(state: str, error: str | None = None, **states: str) -> dict[str, Any]:
    recipient = {"phoneNumber": "+33612345678", "state": state}
    if error:
        recipient["error"] = error
    return {"id": "x", "state": state, "recipients": [recipient], "states": states}


def test_states_become_events_once_and_never_go_back() -> None:
    sent_at = "2026-01-02T10:04:05.123+07:00"
    progress = read_progress("1.0", snapshot("Processed"), False, NOW)
    assert progress.events == [] and not progress.final
    progress = read_progress("1.0", snapshot("Sent", Sent=sent_at), False, NOW)
    assert progress.events == [Sent("1.0", datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=UTC))]
    # A repeated Sent, or an older snapshot after it, says nothing new.
    assert read_progress("1.0", snapshot("Sent", Sent=sent_at), True, NOW).events == []
    assert read_progress("1.0", snapshot("Pending"), True, NOW).events == []
    done = read_progress("1.0", snapshot("Delivered", Sent=sent_at), True, NOW)
    assert done.events == [Delivered("1.0", NOW)] and done.final
    # Delivered seen first (Sent missed between two looks): both, in order.
    both = read_progress("1.0", snapshot("Delivered", Sent=sent_at), False, NOW)
    assert [type(e) for e in both.events] == [Sent, Delivered]


def test_failed_before_sent_is_a_failed_send_after_sent_an_undelivered_one() -> None:
    radio = read_progress(
        "1.0", snapshot("Failed", "Send result: RESULT_ERROR_NO_SERVICE"), False, NOW
    )
    assert radio.events == [Failed("1.0", "Send result: RESULT_ERROR_NO_SERVICE", NOW)]
    late = read_progress(
        "1.0",
        snapshot("Failed", "Delivery result from SC +33: 64", Sent="2026-01-02T10:04:05.000+07:00"),
        True,
        NOW,
    )
    assert late.events == [Undelivered("1.0", "Delivery result from SC +33: 64", NOW)]
    cancelled = read_progress("1.0", snapshot("Cancelled"), False, NOW)
    assert cancelled.events == [Failed("1.0", "cancelled on the phone", NOW)] and cancelled.final


def test_query_times_carry_an_offset_and_three_digits() -> None:
    assert (
        query_time(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)) == "2026-01-02T03:04:05.678Z"
    )


# --- against the stand-in ------------------------------------------------------------


async def test_an_sms_is_posted_once_with_our_id_and_followed_to_delivery(
    app: FakeSmsGateApp, tmp_path: Path
) -> None:
    phone = driver(app, tmp_path, sim=2)
    async with Reading(phone) as reading:
        await phone.send_sms("41.0", "+33612345678", "Bonjour 👋")
        await until(lambda: reading.of("41.0") == ["Sent", "Delivered"])
        assert phone.capabilities.sim_slots == 2  # learnt from GET /device
    [post] = app.posts
    assert post["id"] == phone.phone_id("41.0") and post["id"].endswith("-41.0")
    assert post["textMessage"] == {"text": "Bonjour 👋"} and post["phoneNumbers"] == [
        "+33612345678"
    ]
    assert post["simNumber"] == 2 and post["withDeliveryReport"] is True
    assert app.radio == [{"id": post["id"], "to": "+33612345678", "text": "Bonjour 👋", "sim": 2}]


async def test_what_the_phone_refuses_or_cannot_send_is_reported_failed(
    app: FakeSmsGateApp, tmp_path: Path
) -> None:
    app.refuse["+33600000001"] = (400, "phoneNumbers is empty")
    app.radio_fails["+33600000002"] = ["Send result: RESULT_ERROR_GENERIC_FAILURE"]
    app.undeliverable["+33600000003"] = "Delivery result from SC +33600: 65"
    phone = driver(app, tmp_path)
    async with Reading(phone) as reading:
        for n in (1, 2, 3, 4):
            await phone.send_sms(
                f"{n}.0", f"+3360000000{n}", f"text {n}", sim_slot=3 if n == 4 else None
            )
        await until(
            lambda: all(
                reading.of(f"{n}.0")[-1:] in (["Failed"], ["Undelivered"]) for n in (1, 2, 3, 4)
            )
        )
    reasons = {
        e.command_id: e.reason for e in reading.events if isinstance(e, Failed | Undelivered)
    }
    assert reasons == {
        "1.0": "the phone refused the SMS (HTTP 400): phoneNumbers is empty",
        "2.0": "Send result: RESULT_ERROR_GENERIC_FAILURE",
        "3.0": "Delivery result from SC +33600: 65",
        "4.0": "Can't send message: SIM 3 not found",  # §5: the SIM slot goes through as is
    }
    assert reading.of("3.0") == ["Sent", "Undelivered"]
    assert [sms["text"] for sms in app.radio] == ["text 3"]


async def test_a_wrong_password_fails_the_send_without_retrying_for_ever(
    app: FakeSmsGateApp, tmp_path: Path
) -> None:
    phone = SmsGateLocal(PhoneApi(app.url, app.user, "wrong", **FAST), tmp_path)
    async with Reading(phone) as reading:
        await phone.send_sms("1.0", "+33612345678", "hello")
        await until(lambda: reading.of("1.0") == ["Failed"])
    assert "HTTP 401" in reading.events[0].reason  # type: ignore[union-attr]
    assert app.radio == []


async def test_lost_answers_and_stale_states_neither_double_nor_repeat(
    app: FakeSmsGateApp, tmp_path: Path
) -> None:
    app.drop_answers = 3  # stored, then the connection cut before the answer
    app.stale_reads = 0.5  # half the looks answer an older snapshot
    phone = driver(app, tmp_path)
    ids = [f"{n}.0" for n in range(8)]
    async with Reading(phone) as reading:
        for n, command_id in enumerate(ids):
            await phone.send_sms(command_id, f"+336120000{n:02d}", f"message {n}")
        await until(lambda: all(reading.of(c) == ["Sent", "Delivered"] for c in ids))
        await asyncio.sleep(0.2)  # more looks at the phone change nothing
        assert all(reading.of(c) == ["Sent", "Delivered"] for c in ids)
    assert sorted(sms["text"] for sms in app.radio) == [f"message {n}" for n in range(8)]
    # After each lost answer the driver asked GET /message/{id} and found it.
    assert len(app.posts) == 8


async def test_the_phone_gone_mid_batch_loses_nothing_and_sends_nothing_twice(
    app: FakeSmsGateApp, tmp_path: Path
) -> None:
    phone = driver(app, tmp_path)
    async with Reading(phone) as reading:
        for n in range(3):
            await phone.send_sms(f"{n}.0", f"+3361200000{n}", f"before {n}")
        await until(lambda: len(app.messages) == 3)
        app.stop()
        for n in range(3, 6):
            await phone.send_sms(f"{n}.0", f"+3361200000{n}", f"during {n}")
        await asyncio.sleep(0.5)  # polls and posts hit a closed port meanwhile
        app.start()
        ids = [f"{n}.0" for n in range(6)]
        await until(lambda: all(reading.of(c) == ["Sent", "Delivered"] for c in ids))
    assert sorted(sms["text"] for sms in app.radio) == sorted(
        [f"before {n}" for n in range(3)] + [f"during {n}" for n in range(3, 6)]
    )


async def test_a_send_that_waited_too_long_for_the_phone_fails_and_is_never_sent(
    app: FakeSmsGateApp, tmp_path: Path
) -> None:
    app.stop()
    phone = driver(app, tmp_path, give_up=0.5)
    async with Reading(phone) as reading:
        await phone.send_sms("1.0", "+33612345678", "too late")
        await until(lambda: reading.of("1.0") == ["Failed"])
        app.start()
        await asyncio.sleep(0.3)
    assert "did not answer for" in reading.events[0].reason  # type: ignore[union-attr]
    assert app.posts == [] and app.radio == []


async def test_after_a_restart_a_held_sms_is_followed_never_posted_again(
    app: FakeSmsGateApp, tmp_path: Path
) -> None:
    app.paused = True
    first = driver(app, tmp_path)
    async with Reading(first):
        await first.send_sms("7.0", "+33612345678", "once")
        await until(lambda: '"held"' in (tmp_path / "smsgate-local.sends").read_text())
    # A second run asked again: it follows the SMS the phone holds.
    app.paused = False
    second = driver(app, tmp_path)
    assert second.phone_id("7.0") == first.phone_id("7.0")  # the namespace is kept
    async with Reading(second) as reading:
        await second.send_sms("7.0", "+33612345678", "once")
        await until(lambda: reading.of("7.0") == ["Sent", "Delivered"])
    assert len(app.posts) == 1 and app.on_air("once") == 1
    # The app purged its log: a third run asked again still never posts it.
    app.purge()
    third = driver(app, tmp_path)
    async with Reading(third):
        await third.send_sms("7.0", "+33612345678", "once")
        await asyncio.sleep(0.3)
    assert len(app.posts) == 1 and app.on_air("once") == 1


async def test_after_a_restart_an_sms_whose_answer_was_lost_is_looked_up_first(
    app: FakeSmsGateApp, tmp_path: Path
) -> None:
    app.paused, app.drop_answers = True, 1
    first = driver(app, tmp_path)
    async with Reading(first):
        await first.send_sms("8.0", "+33612345678", "looked up")
        await until(lambda: len(app.posts) >= 1)
    app.paused = False
    second = driver(app, tmp_path)
    async with Reading(second) as reading:
        await second.send_sms("8.0", "+33612345678", "looked up")
        await until(lambda: reading.of("8.0") == ["Sent", "Delivered"])
    assert app.on_air("looked up") == 1


async def test_incoming_sms_are_read_in_order_once_across_restarts(
    app: FakeSmsGateApp, tmp_path: Path
) -> None:
    old = datetime.now(UTC) - timedelta(minutes=5)
    app.receive("+33600000009", "before the first start", at=old)
    phone = driver(app, tmp_path)
    stream = phone.events()
    await asyncio.sleep(0.01)
    app.receive("+33698765432", "Oui 👍")
    first = await asyncio.wait_for(anext(stream), 5)
    assert isinstance(first, IncomingSms) and (first.sender, first.text) == (
        "+33698765432",
        "Oui 👍",
    )
    assert abs(first.at - datetime.now(UTC)) < timedelta(seconds=5)
    # The agent stops before it has journaled a second SMS...
    app.receive("+33698765432", "Non")
    second = await asyncio.wait_for(anext(stream), 5)
    assert isinstance(second, IncomingSms) and second.text == "Non"
    await stream.aclose()  # type: ignore[attr-defined]
    await phone.aclose()
    # ...so the next run reports it again, and the first one not; an SMS the app
    # stored late, with an earlier time, is still found.
    app.receive("+33611111111", "stored late", at=first.at - timedelta(milliseconds=1))
    again = driver(app, tmp_path)
    async with Reading(again) as reading:
        await until(lambda: len(reading.events) == 2)
        await asyncio.sleep(0.2)
    texts = [e.text for e in reading.events if isinstance(e, IncomingSms)]
    assert texts == ["stored late", "Non"]  # oldest first
