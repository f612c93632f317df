"""Property tests for every parser of API input: whatever a client sends, the
answer is a value or the documented refusal, never an exception."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from simgate.domain import dates
from simgate.domain.dates import InvalidDate, parse_send_date
from simgate.domain.messages import PRIORITY_RANGE, Draft, Rejected, _priority, judge
from simgate.domain.numbers import InvalidNumber, to_e164
from simgate.domain.sms import MAX_PARTS
from simgate.services.accounts import Account
from simgate.services.contacts import _judge as judge_contacts

NOW = datetime(2026, 4, 1, 8, 0, 0)
ZONES = st.sampled_from([ZoneInfo(z) for z in ("Europe/Paris", "Pacific/Kiritimati", "UTC",
                                               "America/Adak", "Etc/GMT+12")])

# What orjson can hand us: no NaN or infinities, integers as big as a float holds.
json_scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=60)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=3),
    max_leaves=6,
)
digits = st.text("0123456789", min_size=1, max_size=12)
date_texts = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda y, mo, d, h, mi, rest: f"{y:04d}-{mo:02d}-{d:02d}{rest[0]}{h:02d}:{mi:02d}{rest[1]}",
        st.integers(1, 9999), st.integers(1, 12), st.integers(1, 28), st.integers(0, 23),
        st.integers(0, 59),
        st.tuples(st.sampled_from([" ", "T"]),
                  st.sampled_from(["", ":00", ":59.123456", "Z", "+14:00", "-12:00", "+23:59"])),
    ),
)
phone_texts = st.one_of(
    st.text(max_size=30),
    st.builds(lambda p, d: p + d, st.sampled_from(["+", "00", "0", "+33", "+1", ""]), digits),
)


@settings(max_examples=500, deadline=None)
@given(date_texts, ZONES)
def test_send_dates_are_in_range_or_refused(raw: str, tz: ZoneInfo) -> None:
    try:
        moment = parse_send_date(raw, tz)
    except InvalidDate:
        return
    assert moment is None or dates.EARLIEST <= moment < dates.LATEST


@settings(max_examples=300, deadline=None)
@given(json_values | digits | st.text(max_size=10))
def test_priorities_are_in_range_or_refused(raw: Any) -> None:
    value = _priority(raw)
    assert value is None or value in PRIORITY_RANGE


@settings(max_examples=300, deadline=None)
@given(phone_texts, st.sampled_from(["FR", "US", "DE", "GB", "IN"]))
def test_phone_numbers_become_e164_or_are_refused(raw: str, region: str) -> None:
    try:
        number = to_e164(raw, region)
    except InvalidNumber:
        return
    assert number.startswith("+") and number[1:].isdigit() and len(number) <= 16


message_items = st.fixed_dictionaries(
    {},
    optional={
        "phone_number": phone_texts | json_values,
        "message": st.text(max_size=200) | json_values,
        "url": st.sampled_from(["", "http://[x", "https://a.b/c", "ftp://x", "http://a:99999/"])
        | st.text(max_size=40) | json_values,
        "priorite": digits | json_values,
        "priority": digits | json_values,
        "date_to_send": date_texts | json_values,
        "id_sms_api": st.text(max_size=70) | json_values,
    },
)


@settings(max_examples=500, deadline=None)
@given(message_items | json_values, ZONES)
def test_any_sendsms_item_is_judged_without_raising(item: Any, tz: ZoneInfo) -> None:
    verdict = judge(item, "FR", tz, "http://sms.example", NOW, new_code=lambda: "CODE")
    if isinstance(verdict, Rejected):
        assert verdict.errors
        return
    assert isinstance(verdict, Draft)
    assert "\x00" not in verdict.message and verdict.message.strip()
    assert verdict.priority in PRIORITY_RANGE and 1 <= verdict.segments <= MAX_PARTS
    assert verdict.send_at is None or NOW < verdict.send_at < dates.LATEST
    assert verdict.url is None or verdict.url.isprintable()


contact_items = st.fixed_dictionaries(
    {},
    optional={
        "phone_number": phone_texts | json_values,
        "phonenumber": phone_texts | json_values,
        "firstname": st.text(max_size=20) | json_values,
        "last_name": st.text(max_size=20) | json_values,
        "adress": st.text(max_size=20) | json_values,
        "email": st.text(max_size=20) | json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.lists(contact_items | json_values, max_size=5))
def test_any_contact_item_is_judged_without_raising(items: list[Any]) -> None:
    account = Account(1, "owner@example.com", "Europe/Paris", "FR")
    answers, rows = judge_contacts(account, items, NOW)
    assert len(answers) == len(items)
    for row in rows:
        for name in ("firstname", "lastname", "address", "email"):
            assert "\x00" not in row[name] and len(row[name]) <= 500
