"""The v2 field readers (api/v2/envelope.Params): any JSON value is either read
with its type and range, or refused with an error naming the field."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simgate.api.v2.envelope import Params
from simgate.errors import Invalid, Missing, NotFound

PARIS = ZoneInfo("Europe/Paris")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)


def params(**data: Any) -> Params:
    return Params(data, "FR", PARIS)


def refused_on(field: str, read: Any) -> None:
    with pytest.raises((Invalid, NotFound)) as caught:
        read()
    assert caught.value.field == field  # type: ignore[union-attr]


@given(json_values)
def test_every_reader_reads_or_names_the_field(value: Any) -> None:
    p = params(x=value, limit=value)
    readers = [
        lambda: p.text("x"),
        lambda: p.name("x"),
        lambda: p.id("x"),
        lambda: p.ids("x"),
        lambda: p.strings("x"),
        lambda: p.limit(10),
        lambda: p.boolean("x", default=True),
        lambda: p.integer("x", 0, -5, 5),
        lambda: p.choice("x", ("a", "b"), "a"),
        lambda: p.phone("x", required=False),
        lambda: p.date("x"),
    ]
    for read in readers:
        try:
            read()
        except (Invalid, NotFound) as error:
            assert error.field in {"x", "limit"}


def test_ids_are_strings_of_digits() -> None:
    assert params(x="42").id("x") == 42
    assert params(x=" 42 ").id("x") == 42  # the client passes ids verbatim
    assert params(x=42).id("x") == 42
    for bad in ("abc", "-1", "0", "1" * 30, "４２"):
        refused_on("x", lambda bad=bad: params(x=bad).id("x"))
    with pytest.raises(Missing):
        params().id("x")
    with pytest.raises(Missing):
        params(x="").id("x")


def test_limit_range() -> None:
    assert params().limit(10) == 10
    assert params(limit=100).limit(10) == 100
    for bad in (0, -5, 101, "5", 2.5, True):
        refused_on("limit", lambda bad=bad: params(limit=bad).limit(10))


def test_text_refuses_nul_and_length() -> None:
    refused_on("x", lambda: params(x="a\x00b").text("x"))
    refused_on("x", lambda: params(x="a" * 201).name("x"))
    with pytest.raises(Missing):
        params(x="   ").text("x", required=True)


def test_phone_in_the_account_region() -> None:
    assert params(x="06 12 34 56 78").phone("x") == "+33612345678"
    assert params(x="+33612345678").phone("x") == "+33612345678"
    refused_on("x", lambda: params(x="12").phone("x"))
    assert params(x="").phone("x", required=False) is None


def test_dates_are_half_open_days() -> None:
    p = params(a="2026-04-01", b="2026-04-01")
    assert p.date("a") == datetime(2026, 3, 31, 22, 0)  # midnight in Paris (CEST)
    assert p.date("b", end=True) == datetime(2026, 4, 1, 22, 0)  # the whole day
    assert params(a="2026-04-01T10:00:00.123456").date("a") == datetime(2026, 4, 1, 8, 0, 0, 123456)
    assert params(a="").date("a") is None
    for bad in ("yesterday", "2026-13-01", "1999-01-01", "2026-04-01T25:00"):
        refused_on("a", lambda bad=bad: params(a=bad).date("a"))


def test_choices_are_exact() -> None:
    assert params(x="b").choice("x", ("a", "b"), "a") == "b"
    assert params(x="").choice("x", ("a", "b"), "a") == "a"
    refused_on("x", lambda: params(x="B").choice("x", ("a", "b"), "a"))
