"""The sending policy as typed in the dashboard and on the command line
(domain/policy_text.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simgate.domain.policy import AccountPolicy, PolicyError, parse_windows
from simgate.domain.policy_text import (
    as_text,
    keyword_list,
    parse_form,
    parse_typed,
    whole_number,
)


def test_whole_numbers() -> None:
    assert whole_number("hourly_cap", " 100 ") == 100
    assert whole_number("daily_cap", "10 000") == whole_number("daily_cap", "10_000") == 10000
    assert whole_number("hourly_cap", "") is None
    for bad in ("1.5", "ten", "-3", "١٢", "9" * 13):
        with pytest.raises(PolicyError) as caught:
            whole_number("hourly_cap", bad)
        assert caught.value.field == "hourly_cap"


def test_keywords_and_empties() -> None:
    assert keyword_list("STOP, ARRET\nFIN ,") == ("STOP", "ARRET", "FIN")
    assert keyword_list(" , \n") is None  # the default list
    assert parse_typed("missed_call_period", "") is None  # its default, when checked


def test_a_form_collects_each_error_by_field() -> None:
    changes, errors = parse_form(
        {"windows": "Mon-Sot 08:00-20:00", "hourly_cap": "x", "daily_cap": "5"},
        {"skip_holidays": True},
    )
    assert set(errors) == {"windows", "hourly_cap"}
    assert changes == {"skip_holidays": True, "daily_cap": 5}


@given(st.text(max_size=300))
def test_any_typed_text_is_a_value_or_a_policy_error(text: str) -> None:
    for name in ("windows", "hourly_cap", "optout_keywords", "optout_reply"):
        try:
            parse_typed(name, text)
        except PolicyError as error:
            assert error.field == name


def test_the_text_form_round_trips() -> None:
    policy = AccountPolicy(
        windows=parse_windows("Mon-Fri 09:00-18:00; Fri-Sat 22:00-02:00"),
        hourly_cap=100,
        optout_keywords=("STOP", "ARRET"),
        optout_reply="Bye",
    )
    shown = as_text(policy)
    changes, errors = parse_form(shown, {})
    assert errors == {}
    assert changes["windows"] == policy.windows
    assert (changes["hourly_cap"], changes["daily_cap"]) == (100, None)
    assert (changes["optout_keywords"], changes["optin_keywords"]) == (("STOP", "ARRET"), None)
    assert changes["optout_reply"] == "Bye" and changes["missed_call_period"] == 86400
