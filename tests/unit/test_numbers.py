"""E.164 normalisation with the account's region."""

from __future__ import annotations

import pytest

from simgate.domain.numbers import InvalidNumber, is_valid_region, to_e164


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+33612345678", "FR", "+33612345678"),
        ("+33 6 12 34 56 78", "FR", "+33612345678"),
        ("+33 (0)6-12-34-56-78", "FR", "+33612345678"),
        ("0612345678", "FR", "+33612345678"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("0033612345678", "FR", "+33612345678"),
        ("07911 123456", "GB", "+447911123456"),
        ("(201) 555-0123", "US", "+12015550123"),
        # An international number ignores the account's region.
        ("+447911123456", "FR", "+447911123456"),
        ("  +33612345678\t", "DE", "+33612345678"),
    ],
)
def test_to_e164(raw: str, region: str, expected: str) -> None:
    assert to_e164(raw, region) == expected


@pytest.mark.parametrize(
    "raw", ["", "   ", "+33INVALID", "hello", "+3361234", "+336123456789012", "06123", "+999123"]
)
def test_invalid_numbers_raise(raw: str) -> None:
    with pytest.raises(InvalidNumber):
        to_e164(raw, "FR")


def test_national_number_without_region_is_invalid() -> None:
    with pytest.raises(InvalidNumber):
        to_e164("0612345678", None)


def test_region_depends_on_account() -> None:
    # The same national digits are a different number in another region.
    assert to_e164("0612345678", "FR") != to_e164("0612345678", "NL")


def test_regions() -> None:
    assert is_valid_region("FR") and is_valid_region("fr") and is_valid_region("GB")
    assert not is_valid_region("XX") and not is_valid_region("")


def test_spellings_of_a_number_as_phones_report_it() -> None:
    from simgate.domain.numbers import spellings

    assert spellings("+33612345678") == [
        "+33612345678", "33612345678", "0033612345678", "0612345678"
    ]  # fmt: skip
    assert "2025550123" in spellings("+12025550123")
