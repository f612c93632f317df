"""Rendering message templates (domain/templates.py): values from the request,
then the contact; never an empty gap; other braces are plain text."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simgate.domain.templates import (
    BadRecipient,
    ContactValues,
    MissingVariable,
    Recipient,
    given_variables,
    has_variables,
    parse_custom,
    read_recipient,
    render,
    variables_of,
)

ANN = ContactValues("Ann", "Lee", "ann@example.com", {"city": "Lyon", "blank": " "})

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=3),
    max_leaves=6,
)  # fmt: skip


def test_variables_in_order_of_first_use() -> None:
    text = "{custom.city} {firstname} {custom.city} {foo} { lastname } {email}{phone_number}"
    assert variables_of(text) == ["custom.city", "firstname", "email", "phone_number"]
    assert has_variables(text) and not has_variables("{foo} {} {custom.} {FIRSTNAME}")


def test_request_values_first_then_the_contact() -> None:
    text = "{firstname} {lastname} <{email}> {custom.city} {phone_number}"
    assert (
        render(text, "+33611", {"firstname": "Bob"}, ANN) == "Bob Lee <ann@example.com> Lyon +33611"
    )
    assert render(text, "+33611", {"phone_number": "0611", "custom.city": "Nice"}, ANN) == (
        "Ann Lee <ann@example.com> Nice 0611"
    )


def test_a_blank_value_is_no_value() -> None:
    assert render("{firstname}", "+1", {"firstname": " "}, ANN) == "Ann"
    with pytest.raises(MissingVariable) as missing:
        render("{custom.blank}", "+1", {}, ANN)
    assert missing.value.variable == "custom.blank"
    with pytest.raises(MissingVariable) as missing:
        render("Hi {firstname} {lastname}", "+1", {"lastname": "X"}, None)
    assert missing.value.variable == "firstname"


def test_other_braces_stay_as_they_are() -> None:
    text = 'Code {foo} {"a": 1} {FIRSTNAME} {custom.} {{firstname}}'
    assert (
        render(text, "+1", {"foo": "x"}, ANN) == 'Code {foo} {"a": 1} {FIRSTNAME} {custom.} {Ann}'
    )


def test_the_number_is_always_there() -> None:
    assert render("{phone_number}", "+33611", None, None) == "+33611"


NAMES = [
    "firstname",
    "lastname",
    "email",
    "phone_number",
    "custom.city",
    "custom.blank",
    "custom.none",
    "foo",
]
fragments = st.sampled_from([*(f"{{{n}}}" for n in NAMES), "{", "}", " ", "x"]) | st.text(
    max_size=5
)


@given(
    st.lists(fragments, max_size=12).map("".join),
    st.dictionaries(st.sampled_from(NAMES), st.sampled_from(["", " ", "v", "{x}"])),
    st.booleans(),
)  # fmt: skip
def test_render_fails_exactly_when_a_variable_has_no_value(
    text: str, values: dict[str, str], with_contact: bool
) -> None:
    contact = ANN if with_contact else None

    def has_value(name: str) -> bool:
        found = values.get(name, "").strip() or (contact.get(name).strip() if contact else "")
        return bool(found) or name == "phone_number"

    missing = [name for name in variables_of(text) if not has_value(name)]
    try:
        render(text, "+33611", values, contact)
    except MissingVariable as error:
        assert missing and error.variable == missing[0]
    else:
        assert not missing


@given(json_values)
def test_variables_are_an_object_of_strings_or_refused(raw: Any) -> None:
    try:
        values = given_variables(raw)
    except ValueError:
        assert raw is not None
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())


@given(st.one_of(json_values, st.fixed_dictionaries({"phone_number": json_values,
                                                    "variables": json_values})))  # fmt: skip
def test_a_recipient_is_read_or_refused_with_its_field(item: Any) -> None:
    read = read_recipient(item, "FR")
    if isinstance(read, BadRecipient):
        assert read.field in ("recipients", "phone_number", "variables") and read.error
    else:
        assert isinstance(read, Recipient) and read.phone_number.startswith("+")


def test_read_recipient() -> None:
    good = read_recipient({"phone_number": "06 12 34 56 78", "variables": {"a": "b"}}, "FR")
    assert good == Recipient("06 12 34 56 78", "+33612345678", {"a": "b"})
    missing = read_recipient({"variables": {}}, "FR")
    assert isinstance(missing, BadRecipient) and missing.missing
    bad = read_recipient({"phone_number": "+33612345678", "variables": [1]}, "FR")
    assert isinstance(bad, BadRecipient) and bad.field == "variables" and not bad.missing


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, {}), ("", {}), ("[1]", {}), ("not json", {}), ('{"a": "b", "n": 1}', {"a": "b"})],
)
def test_custom_values_of_a_contact(raw: str | None, expected: dict[str, str]) -> None:
    assert parse_custom(raw) == expected
