"""Each device-report handler (services/device_reports.py), frame by frame.

No server and no sockets: frames go straight to `apply_batch` with the time
given, on a SQLite file. The same handlers run on both stores behind real
sockets in tests/devices.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pytest
from sqlalchemy import Engine, insert, select

from simgate.config import Settings
from simgate.device import protocol
from simgate.services.accounts import Account, create_account
from simgate.services.device_reports import Frame, Outcome, Reporter, apply_batch
from simgate.services.devices import add_device
from simgate.services.webhook_admin import set_callbacks
from simgate.store.db import make_engine, upgrade
from simgate.store.tables import (
    calls,
    incoming_sms,
    message_events,
    messages,
    qualifications,
    webhooks,
)

NOW = datetime(2026, 3, 2, 9, 30)
MAX_ATTEMPTS = 3
RESULT_TIMEOUT = 600.0
HOOK = "http://127.0.0.1:9/hook"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated store, copied for each test (migrating takes most of a second)."""
    folder = tmp_path_factory.mktemp("template")
    engine = make_engine(Settings(data_dir=folder))
    upgrade(engine)
    engine.dispose()  # the last connection checkpoints the WAL into the file
    return folder / "simgate.db"


@pytest.fixture
def engine(template: Path, tmp_path: Path) -> Iterator[Engine]:
    shutil.copy(template, tmp_path / "simgate.db")
    engine = make_engine(Settings(data_dir=tmp_path, sqlite_synchronous="NORMAL"))
    yield engine
    engine.dispose()


@dataclass
class Phone:
    """An account with two paired devices; `me` reports, `other` is a stranger."""

    engine: Engine
    account: Account
    me: Reporter
    other: Reporter

    def apply(self, *frames: Frame, by: Reporter | None = None) -> list[Outcome]:
        batch = [(by or self.me, frame) for frame in frames]
        return apply_batch(self.engine, batch, MAX_ATTEMPTS, RESULT_TIMEOUT, now=NOW)

    def hand_over(self, state: str = "dispatched", attempts: int = 0) -> int:
        """A message as the dispatcher leaves it when handing it to `me`."""
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    insert(messages).values(
                        account_id=self.account.id,
                        id_sms_api=f"api-{state}-{attempts}",
                        request_hash="x",
                        phone_number="+33612345678",
                        message="hello",
                        priority=1,
                        encoding="GSM",
                        segments=1,
                        state=state,
                        send_at=NOW - timedelta(minutes=1),
                        created_at=NOW - timedelta(minutes=1),
                        attempts=attempts,
                        handovers=1,
                        device_id=self.me.device_id,
                        lease_until=NOW + timedelta(seconds=30),
                        dispatched_at=NOW - timedelta(seconds=1),
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
            )

    def message(self, message_id: int) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(select(messages).where(messages.c.id == message_id)).one()

    def events(self, message_id: int) -> list[Any]:
        with self.engine.connect() as conn:
            query = select(message_events).where(message_events.c.message_id == message_id)
            return list(conn.execute(query.order_by(message_events.c.id)))

    def webhooks(self, kind: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            texts = conn.execute(
                select(webhooks.c.payload).where(webhooks.c.kind == kind).order_by(webhooks.c.id)
            ).scalars()
            return [json.loads(text) for text in texts]


@pytest.fixture
def phone(engine: Engine) -> Phone:
    account, _ = create_account(engine, "owner@example.com", "Europe/Paris", "FR")
    kinds = ("message", "calls", "qualification", "status")
    set_callbacks(engine, account.email, {kind: HOOK for kind in kinds}, allow_private=True)
    me = Reporter(add_device(engine, account.email, "me")[0], account)
    other = Reporter(add_device(engine, account.email, "other")[0], account)
    return Phone(engine, account, me, other)


def result(
    message_id: int,
    status: Literal["sent", "failed"] = "sent",
    attempt: int = 0,
    at: datetime | None = None,
) -> protocol.Result:
    reason = "no signal" if status == "failed" else ""
    return protocol.Result(f"r-{message_id}.{attempt}", message_id, attempt, status, reason, at)


def delivery(
    message_id: int, status: Literal["delivered", "undelivered"] = "delivered"
) -> protocol.Delivery:
    reason = "absent subscriber" if status == "undelivered" else ""
    at = NOW + timedelta(seconds=5)
    return protocol.Delivery(f"d-{message_id}", message_id, 0, status, reason, at)


def refusal(outcome: Outcome) -> tuple[str, str | None]:
    """(error code, ref) of an error answer."""
    assert outcome.reply is not None and outcome.reply["type"] == "error", outcome
    return outcome.reply["code"], outcome.reply.get("ref")


# --- ack ---------------------------------------------------------------------


def test_an_ack_holds_the_message_until_the_result_timeout(phone: Phone) -> None:
    message_id = phone.hand_over()
    [outcome] = phone.apply(protocol.Ack(message_id, 0))
    assert outcome == Outcome()  # command acks get no answer
    row = phone.message(message_id)
    assert row.acked_at == NOW and row.handovers == 0
    assert row.lease_until == NOW + timedelta(seconds=RESULT_TIMEOUT)


def test_an_ack_of_an_earlier_attempt_changes_nothing(phone: Phone) -> None:
    message_id = phone.hand_over(attempts=1)
    assert phone.apply(protocol.Ack(message_id, 0)) == [Outcome()]
    assert phone.message(message_id).acked_at is None


def test_an_ack_from_a_device_that_does_not_hold_the_message_is_refused(phone: Phone) -> None:
    message_id = phone.hand_over()
    [outcome] = phone.apply(protocol.Ack(message_id, 0), by=phone.other)
    assert refusal(outcome) == ("unknown_id", None)
    assert phone.message(message_id).acked_at is None


# --- result ------------------------------------------------------------------


def test_a_sent_result_marks_it_sent_at_the_devices_time_and_queues_its_status(
    phone: Phone,
) -> None:
    message_id = phone.hand_over()
    at = NOW - timedelta(seconds=2)
    [outcome] = phone.apply(result(message_id, at=at))
    assert outcome == Outcome(protocol.ack_report(f"r-{message_id}.0"))
    row = phone.message(message_id)
    assert (row.state, row.sent_at, row.lease_until) == ("sent", at, None)
    [status] = phone.webhooks("status")
    assert status["status"] == "sent" and status["id_sms_api"] == "api-dispatched-0"


def test_a_time_from_the_future_is_replaced_by_the_servers(phone: Phone) -> None:
    message_id = phone.hand_over()
    phone.apply(result(message_id, at=NOW + timedelta(hours=1)))
    assert phone.message(message_id).sent_at == NOW


def test_a_repeated_result_is_acknowledged_and_changes_nothing(phone: Phone) -> None:
    message_id = phone.hand_over()
    phone.apply(result(message_id))
    [outcome] = phone.apply(result(message_id, status="failed"))
    assert outcome.reply == protocol.ack_report(f"r-{message_id}.0")
    assert phone.message(message_id).state == "sent"
    assert len(phone.webhooks("status")) == 1


def test_a_failed_send_goes_back_to_the_queue_while_attempts_remain(phone: Phone) -> None:
    message_id = phone.hand_over()
    [outcome] = phone.apply(result(message_id, status="failed"))
    assert outcome.reply is not None  # acked; the requeue's commit wakes the dispatcher
    row = phone.message(message_id)
    assert (row.state, row.attempts, row.acked_at, row.device_id) == (
        "queued",
        1,
        None,
        phone.me.device_id,  # its last holder, whose late reports are still its own
    )
    [retry] = phone.events(message_id)
    assert (retry.state, retry.device_id, retry.detail) == (
        "retry",
        phone.me.device_id,
        "no signal",
    )
    assert phone.webhooks("status") == []


def test_the_last_failed_attempt_fails_the_message(phone: Phone) -> None:
    message_id = phone.hand_over(attempts=MAX_ATTEMPTS - 1)
    [outcome] = phone.apply(result(message_id, status="failed", attempt=MAX_ATTEMPTS - 1))
    assert outcome.reply is not None
    row = phone.message(message_id)
    assert (row.state, row.attempts, row.fail_reason) == ("failed", MAX_ATTEMPTS, "no signal")
    assert [e.state for e in phone.events(message_id)] == ["failed"]
    assert [w["status"] for w in phone.webhooks("status")] == ["failed"]


def test_a_result_from_another_device_is_refused_with_its_ref(phone: Phone) -> None:
    message_id = phone.hand_over()
    [outcome] = phone.apply(result(message_id), by=phone.other)
    assert refusal(outcome) == ("unknown_id", f"r-{message_id}.0")
    assert phone.message(message_id).state == "dispatched"


# --- delivery ----------------------------------------------------------------


def test_a_delivery_report_marks_it_received(phone: Phone) -> None:
    message_id = phone.hand_over()
    [_, outcome] = phone.apply(result(message_id), delivery(message_id))
    assert outcome.reply == protocol.ack_report(f"d-{message_id}")
    row = phone.message(message_id)
    assert (row.state, row.delivered_at) == ("received", NOW + timedelta(seconds=5))
    assert [w["status"] for w in phone.webhooks("status")] == ["sent", "received"]


def test_an_undelivered_report_fails_it_with_the_reason(phone: Phone) -> None:
    message_id = phone.hand_over(state="sent")
    phone.apply(delivery(message_id, "undelivered"))
    row = phone.message(message_id)
    assert (row.state, row.fail_reason) == ("failed", "absent subscriber")
    assert [w["status"] for w in phone.webhooks("status")] == ["failed"]


def test_a_delivery_report_on_a_settled_message_changes_nothing(phone: Phone) -> None:
    message_id = phone.hand_over(state="failed")
    [outcome] = phone.apply(delivery(message_id))
    assert outcome.reply == protocol.ack_report(f"d-{message_id}")
    assert phone.message(message_id).state == "failed"
    assert phone.webhooks("status") == []


def test_a_delivery_report_from_another_device_is_refused(phone: Phone) -> None:
    message_id = phone.hand_over(state="sent")
    [outcome] = phone.apply(delivery(message_id), by=phone.other)
    assert refusal(outcome) == ("unknown_id", f"d-{message_id}")


# --- received SMS, calls, qualifications -------------------------------------


def test_a_received_sms_is_stored_once_per_ref(phone: Phone) -> None:
    frame = protocol.SmsReceived("s1", "+33698765432", "Bonjour 👋", NOW - timedelta(seconds=3))
    outcomes = phone.apply(frame, frame)  # the second is a re-send after a reconnect
    assert [o.reply for o in outcomes] == [protocol.ack_report("s1")] * 2
    with phone.engine.connect() as conn:
        stored = conn.execute(select(incoming_sms)).one()
    assert (stored.from_number, stored.text, stored.device_id) == (
        "+33698765432",
        "Bonjour 👋",
        phone.me.device_id,
    )
    assert stored.received_at == NOW - timedelta(seconds=3)
    [hook] = phone.webhooks("message")
    assert hook["message"] == "Bonjour 👋"


def test_a_call_event_is_stored_once_per_ref(phone: Phone) -> None:
    frame = protocol.CallEvent("c1", "incoming_call", "+33698765432", "00:01:10", None)
    phone.apply(frame)
    phone.apply(frame)
    with phone.engine.connect() as conn:
        stored = conn.execute(select(calls)).one()
    assert (stored.kind, stored.duration, stored.call_time) == ("incoming_call", "00:01:10", NOW)
    assert len(phone.webhooks("calls")) == 1


def test_a_qualification_is_linked_to_the_latest_call_of_its_number(phone: Phone) -> None:
    earlier = protocol.CallEvent("c1", "missed_call", "+33698765432", "0", NOW - timedelta(hours=1))
    latest = protocol.CallEvent("c2", "incoming_call", "+33698765432", "00:00:30", None)
    elsewhere = protocol.CallEvent("c3", "incoming_call", "+33611111111", "00:00:30", None)
    qualification = protocol.Qualification("q1", "+33698765432", "interested", None)
    phone.apply(earlier, latest, elsewhere)
    phone.apply(qualification, qualification)
    with phone.engine.connect() as conn:
        stored = conn.execute(select(qualifications)).one()
        latest_id = conn.execute(
            select(calls.c.id).where(
                calls.c.phone_number == "+33698765432", calls.c.call_time == NOW
            )
        ).scalar_one()
    assert (stored.source, stored.call_id, stored.text) == ("mobile", latest_id, "interested")
    assert len(phone.webhooks("qualification")) == 1
