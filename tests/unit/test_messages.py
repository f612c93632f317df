"""Judging one sendsms message alone."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from simgate.domain.messages import Draft, Rejected, judge, request_hash

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 4, 1, 8, 0, 0)  # naive UTC, 10:00 in Paris
BASE = "http://sms.example"


def run(item: Any, **kw: Any) -> Draft | Rejected:
    return judge(item, "FR", PARIS, BASE, NOW, new_code=lambda: "CODE123456x", **kw)


def draft(item: Any) -> Draft:
    verdict = run(item)
    assert isinstance(verdict, Draft), verdict
    return verdict


def errors(item: Any) -> list[str]:
    verdict = run(item)
    assert isinstance(verdict, Rejected), verdict
    return verdict.errors


def test_reference_message_with_tracking_link() -> None:
    d = draft(
        {
            "phone_number": "+33612345678",
            "message": "Hello from InSim API [Lien_Tracking]",
            "url": "https://example.com/",
            "priorite": 1,
            "date_to_send": "2025-10-29 10:16:10",
        }
    )
    assert d.message == f"Hello from InSim API {BASE}/CODE123456x"
    assert d.short_code == "CODE123456x" and d.url == "https://example.com/"
    assert d.send_at is None  # in the past: now
    assert (d.phone_number, d.priority, d.segments, d.encoding) == ("+33612345678", 1, 1, "GSM-7")
    assert not d.client_id and len(d.id_sms_api) == 15


def test_link_placeholder_and_appended_url() -> None:
    assert draft({"phone_number": "0612345678", "message": "Go [link]", "url": "https://a.b/c"})
    d = draft({"phone_number": "0612345678", "message": "Go", "url": "https://a.b/c"})
    assert d.message == f"Go {BASE}/CODE123456x"


def test_placeholder_without_url_is_removed_and_no_code() -> None:
    d = draft({"phone_number": "+33612345678", "message": "Hi [Lien_Tracking]", "url": ""})
    assert (d.message, d.short_code, d.url) == ("Hi", None, None)


def test_segments_count_the_final_text() -> None:
    text = "a" * 140 + " [link]"
    d = draft({"phone_number": "+33612345678", "message": text, "url": "https://e.com/"})
    assert len(d.message) > 160 and d.segments == 2


@pytest.mark.parametrize(
    ("fields", "priority"),
    [
        ({}, 1),
        ({"priorite": 5}, 5),
        ({"priority": 7}, 7),
        ({"priorite": "3"}, 3),
        ({"priorite": 2.0}, 2),
        ({"priorite": -1}, -1),
        ({"priorite": None}, 1),
    ],
)
def test_priority_and_its_alias(fields: dict[str, Any], priority: int) -> None:
    assert draft({"phone_number": "+33612345678", "message": "x", **fields}).priority == priority


def test_future_date_is_kept_in_utc() -> None:
    d = draft(
        {"phone_number": "+33612345678", "message": "x", "date_to_send": "2026-04-01 12:00:00"}
    )
    assert d.send_at == datetime(2026, 4, 1, 10, 0, 0)
    d = draft(
        {"phone_number": "+33612345678", "message": "x", "date_to_send": "2026-04-01T12:00:00.5"}
    )
    assert d.send_at == datetime(2026, 4, 1, 10, 0, 0, 500000)


def test_client_id_is_kept() -> None:
    d = draft({"phone_number": "+33612345678", "message": "x", "id_sms_api": "order-42"})
    assert (d.id_sms_api, d.client_id) == ("order-42", True)
    assert (
        draft({"phone_number": "+33612345678", "message": "x", "id_sms_api": 42}).id_sms_api == "42"
    )


@pytest.mark.parametrize(
    ("fields", "codes"),
    [
        ({"phone_number": "+33INVALID"}, ["#001"]),
        ({"phone_number": "12"}, ["#001"]),
        ({"phone_number": ["+33612345678"]}, ["#001"]),
        ({"phone_number": True}, ["#001"]),
        ({"phone_number": ""}, ["#002"]),
        ({"phone_number": "   "}, ["#002"]),
        ({"phone_number": None}, ["#002"]),
        ({"message": ""}, ["#003"]),
        ({"message": "  "}, ["#003"]),
        ({"message": 12}, ["#003"]),
        ({"date_to_send": "tomorrow"}, ["#004"]),
        ({"date_to_send": 1761732970}, ["#004"]),
        ({"priorite": "high"}, ["#005"]),
        ({"priorite": True}, ["#005"]),
        ({"priorite": 1.5}, ["#005"]),
        ({"priority": 10**6}, ["#005"]),
        ({"url": "not a url"}, ["#006"]),
        ({"url": "ftp://example.com/"}, ["#006"]),
        ({"url": "javascript:alert(1)"}, ["#006"]),
        ({"url": 5}, ["#006"]),
        ({"id_sms_api": "has space"}, ["#008"]),
        ({"id_sms_api": "x" * 65}, ["#008"]),
        ({"id_sms_api": True}, ["#008"]),
        ({"phone_number": "", "message": "", "priorite": "x"}, ["#002", "#003", "#005"]),
    ],
)
def test_each_problem_has_its_code(fields: dict[str, Any], codes: list[str]) -> None:
    item = {"phone_number": "+33612345678", "message": "hello", **fields}
    assert errors(item) == codes


def test_missing_fields() -> None:
    assert errors({}) == ["#002", "#003"]


@pytest.mark.parametrize("item", [None, "text", 5, ["+33612345678", "hi"]])
def test_item_not_an_object(item: Any) -> None:
    assert errors(item) == ["#009"]


def test_rejected_keeps_what_was_sent() -> None:
    verdict = run({"phone_number": "+33INVALID", "message": "hi", "id_sms_api": "mine-1"})
    assert isinstance(verdict, Rejected)
    assert (verdict.phone_number, verdict.message, verdict.id_sms_api) == (
        "+33INVALID",
        "hi",
        "mine-1",
    )


def test_request_hash_tells_content_apart() -> None:
    base = {"phone_number": "+33612345678", "message": "hi", "id_sms_api": "a"}
    assert request_hash(base) == request_hash(dict(base))
    assert request_hash(base) != request_hash({**base, "message": "hi!"})
    assert request_hash(base) != request_hash({**base, "url": "https://e.com/"})
    assert request_hash(base) != request_hash({**base, "date_to_send": "2030-01-01 00:00:00"})
