"""The sendsms extension fields of the sending policy (docs/policy.md,
"Message fields"): `validity`, `valid_until`, `sim` and `marketing`, read by
domain/messages.judge into the draft or refused with their own code."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simgate.domain.messages import Draft, Rejected, judge, request_hash
from simgate.domain.policy import MAX_SIM, MAX_VALIDITY, MIN_VALIDITY

NOW = datetime(2026, 4, 1, 8, 0, 0)
PARIS = ZoneInfo("Europe/Paris")


def verdict(**fields: Any) -> Draft | Rejected:
    item = {"phone_number": "+33612345678", "message": "code 1234", **fields}
    return judge(item, "FR", PARIS, "https://s.example", NOW)


def draft(**fields: Any) -> Draft:
    result = verdict(**fields)
    assert isinstance(result, Draft), result
    return result


def codes(**fields: Any) -> list[str]:
    result = verdict(**fields)
    assert isinstance(result, Rejected), result
    return result.errors


def test_validity_counts_from_acceptance_or_from_the_send_date() -> None:
    assert draft(validity=300).valid_until == NOW + timedelta(seconds=300)
    assert draft(validity="600").valid_until == NOW + timedelta(seconds=600)
    later = draft(validity=300, date_to_send="2026-04-01 12:00:00")  # 10:00 UTC
    assert later.valid_until == datetime(2026, 4, 1, 10, 5)


def test_valid_until_is_a_date_like_date_to_send() -> None:
    assert draft(valid_until="2026-04-01 11:00:00").valid_until == datetime(2026, 4, 1, 9, 0)
    assert draft(valid_until="2026-04-01T09:30:00Z").valid_until == datetime(2026, 4, 1, 9, 30)


@pytest.mark.parametrize(
    "fields",
    [
        {"validity": 59},
        {"validity": MAX_VALIDITY + 1},
        {"validity": True},
        {"validity": "five minutes"},
        {"validity": [300]},
        {"valid_until": "2026-04-01 09:59:00"},  # already past (07:59 UTC)
        {"valid_until": "2026-06-01 10:00:00"},  # more than 30 days after the send date
        {"valid_until": "tomorrow"},
        {"valid_until": 1775030400},
        {"validity": 300, "valid_until": "2026-04-01 11:00:00"},  # one or the other
    ],
)
def test_a_bad_validity_is_013(fields: dict[str, Any]) -> None:
    assert codes(**fields) == ["#013"]


def test_sim_is_a_slot_from_1_to_8() -> None:
    assert draft(sim=2).sim == 2 and draft(sim="1").sim == 1 and draft().sim is None
    for bad in (0, MAX_SIM + 1, -1, True, "two", 1.5, [1]):
        assert codes(sim=bad) == ["#014"], bad


def test_marketing_is_a_flag() -> None:
    assert draft(marketing=True).marketing is True
    assert draft(marketing="false").marketing is False and draft(marketing=1).marketing is True
    assert draft().marketing is None
    for bad in ("yes", 2, 0.5, {"a": 1}):
        assert codes(marketing=bad) == ["#015"], bad


def test_a_message_without_the_fields_keeps_the_hash_it_always_had() -> None:
    item = {"id_sms_api": "a1", "phone_number": "+33612345678", "message": "hi"}
    # The hash of this item before simgate knew the fields (a repeat of a
    # message stored then still answers the stored message).
    assert request_hash(item) == request_hash({**item, "sim": None, "validity": None})
    assert request_hash(item) != request_hash({**item, "sim": 2})


json_values = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.lists(st.integers(), max_size=2)
)


@settings(max_examples=400, deadline=None)
@given(validity=json_values, valid_until=json_values, sim=json_values, marketing=json_values)
def test_any_value_is_read_or_refused_with_its_code(
    validity: Any, valid_until: Any, sim: Any, marketing: Any
) -> None:
    result = verdict(validity=validity, valid_until=valid_until, sim=sim, marketing=marketing)
    if isinstance(result, Rejected):
        assert set(result.errors) <= {"#013", "#014", "#015"}
        return
    if result.valid_until is not None:
        # `validity` gives at least MIN_VALIDITY; `valid_until` any future time.
        low = MIN_VALIDITY if validity not in (None, "") else 0
        assert NOW + timedelta(seconds=low) <= result.valid_until
        assert result.valid_until <= NOW + timedelta(seconds=MAX_VALIDITY)
    assert result.sim is None or 1 <= result.sim <= MAX_SIM
    assert result.marketing in (None, True, False)
