"""What phones report reaches the callback URLs: status, message, calls, qualification.

The tests share one `simgate serve` per store, each with its own account,
phone and receiver.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine

from simgate.config import Settings
from simgate.services.webhook_admin import set_callbacks
from tests.devices.conftest import Agent, numbered, pair, post, report
from tests.support.polling import wait_for
from tests.support.servers import ServerProcess
from tests.webhooks.conftest import Recorder

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(shared_settings: Settings) -> Iterator[ServerProcess]:
    """One server process per store; a failed send is not tried again."""
    with ServerProcess(shared_settings, env={"SIMGATE_MAX_SEND_ATTEMPTS": "1"}) as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[Recorder]:
    rec = Recorder().start()
    yield rec
    rec.stop()


ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LOCAL = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def payloads(recorder: Recorder, kind: str) -> list[dict[str, Any]]:
    found = []
    for request in recorder.acked():
        query = parse_qs(urlsplit(request["target"]).query)
        if kind in query:
            found.append(json.loads(query[kind][0]))
    return found


def test_phone_events_reach_the_callbacks(
    served: ServerProcess,
    shared_store: Engine,
    customer: dict[str, Any],
    agents: list[Agent],
    tmp_path: Path,
    receiver: Recorder,
) -> None:
    store, owner = shared_store, customer
    kinds = ("status", "message", "calls", "qualification")
    set_callbacks(
        store, owner["login"], {k: receiver.url + "/hook" for k in kinds}, allow_private=True
    )
    token = pair(store, owner, "phone")
    agents.append(
        Agent(
            served.url,
            token,
            tmp_path / "phone",
            "--sent-delay",
            "0.05",
            "--delivery-delay",
            "0.05",
        ).start()
    )
    answers = post(served.url, owner, numbered(2))
    wait_for(lambda: len(payloads(receiver, "status")) == 4, timeout=30)
    for args in (
        ["sms", "--from", "+33698765432", "--text", "Oui, 100% d'accord 👍"],
        ["call", "--type", "missed_call", "--number", "+33698765432"],
        ["qualification", "--from", "+33698765432", "--text", "À rappeler"],
    ):
        done = report(served.settings, served.url, token, *args)
        assert done.returncode == 0, done.stderr
    wait_for(lambda: all(payloads(receiver, k) for k in kinds[1:]), timeout=30)

    statuses = payloads(receiver, "status")
    for answer in answers:
        mine = [p for p in statuses if p["id_sms_api"] == answer["id_sms_api"]]
        # Arrival order is not promised (docs/webhooks.md); date_status orders.
        mine.sort(key=lambda p: p["date_status"])
        assert [p["status"] for p in mine] == ["sent", "received"]
        for p in mine:
            assert set(p) == {"user", "phone_number", "status", "date_status", "id_sms_api"}
            assert p["user"] == owner["login"] and p["phone_number"] == answer["phone_number"]
            assert ISO_MS_Z.match(p["date_status"])
    [sms] = payloads(receiver, "message")
    assert sms["title"] == "incoming_sms" and sms["message"] == "Oui, 100% d'accord 👍"
    assert sms["device_identification"] == owner["login"] and ISO_MS_Z.match(sms["date"])
    [call] = payloads(receiver, "calls")
    assert call == {
        "device_identification": owner["login"],
        "title": "missed_call",
        "phone_number": "+33698765432",
        "call_time": call["call_time"],
        "duration": "0",
    }
    assert LOCAL.match(call["call_time"])
    [qualification] = payloads(receiver, "qualification")
    assert qualification["title"] == "call_qualification_from_mobile"
    assert qualification["qualification"] == "À rappeler" and LOCAL.match(qualification["date"])


def test_a_message_that_keeps_failing_sends_status_failed(
    served: ServerProcess,
    shared_store: Engine,
    customer: dict[str, Any],
    agents: list[Agent],
    tmp_path: Path,
    receiver: Recorder,
) -> None:
    store, owner = shared_store, customer  # the shared server tries a message once
    set_callbacks(store, owner["login"], {"status": receiver.url}, allow_private=True)
    agents.append(
        Agent(
            served.url,
            pair(store, owner, "broken"),
            tmp_path / "p",
            "--fail-rate",
            "1",
            "--sent-delay",
            "0.01",
        ).start()
    )
    [answer] = post(served.url, owner, numbered(1))
    wait_for(lambda: payloads(receiver, "status"), timeout=30)
    [failed] = payloads(receiver, "status")
    assert failed["status"] == "failed" and failed["id_sms_api"] == answer["id_sms_api"]
