"""domain/send_results: v2 sendsms results from v1 answers, and the client's
clock stamps."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simgate._wire import SMS_ERRORS
from simgate.domain.refusals import V2_ERRORS
from simgate.domain.send_results import is_client_clock_stamp, refusal, result

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 25, 20, 0, 0)  # naive UTC: 21:00 in Paris


def v1_answer(**changes: Any) -> dict[str, Any]:
    answer = {
        "id_sms_api": "abc",
        "sms_per_message": 1,
        "user": "u@example.com",
        "sent_time": "2026-11-25T20:00:00.000Z",
        "phone_number": "+33612345678",
        "message": "hi",
        "sent": 1,
    }
    return answer | changes


def test_every_v1_code_has_a_v2_error() -> None:
    assert set(V2_ERRORS) == set(SMS_ERRORS)


def test_an_accepted_message() -> None:
    assert result(0, v1_answer()) == {
        "sent": 1, "sms_id": "abc", "phone_number": "+33612345678", "message": "hi",
        "segments": 1,
    }  # fmt: skip


def test_a_refused_message_names_its_first_fault() -> None:
    item = result(2, v1_answer(id_sms_api="", sent=0, errors=["#002", "#003"]))
    assert item["sent"] == 0 and item["sms_id"] is None
    assert (item["error_code"], item["field"]) == ("MISSING_FIELD", "messages[2].phone_number")
    assert "empty phone number" in item["error"] and item["errors"] == ["#002", "#003"]
    assert refusal(0, "#009")[1] == "messages[0]"


@pytest.mark.parametrize(
    ("raw", "stamp"),
    [
        ("2026-11-25T21:00:00.123456", True),  # the client in Paris, now
        ("2026-11-26T10:59:59.5", True),  # a client 14 hours ahead
        ("2026-11-26T12:00:00.5", False),  # further: a real schedule
        ("2026-11-20T08:00:00.000001", True),  # past
        ("2026-11-25T21:00:00", False),  # no fraction: a person wrote it
        ("2026-11-25 21:00:00.5", False),
        ("2026-11-25T21:00:00.5+01:00", False),  # an offset says what it means
        ("", False),
        (None, False),
        (17, False),
    ],
)
def test_client_clock_stamps(raw: Any, stamp: bool) -> None:
    assert is_client_clock_stamp(raw, PARIS, NOW) is stamp


@given(st.text(max_size=40))
def test_clock_stamps_never_raise(raw: str) -> None:
    is_client_clock_stamp(raw, PARIS, NOW + timedelta(0))
