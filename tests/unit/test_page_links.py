"""The dashboard's page links (domain/cursors.page_link) and what a number
typed in the Messages filter searches for (domain/number_search)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from simgate.domain.cursors import (
    MAX_CURSOR_LENGTH,
    PageLink,
    encode,
    page_link,
    read_page_link,
)
from simgate.domain.number_search import ANY_NUMBER, NumberSearch, number_search

keys = st.lists(
    st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(max_size=20)), min_size=1, max_size=3
)


@given(st.integers(1, 10**6), st.booleans(), keys)
def test_a_link_reads_back_as_made(number: int, back: bool, key: list[str | int]) -> None:
    link = page_link(number, back, tuple(key))
    assert len(link) <= MAX_CURSOR_LENGTH
    assert read_page_link(link, len(key)) == PageLink(number, back, tuple(key))


@given(st.integers(1, 100), st.booleans(), keys)
def test_a_link_of_another_list_is_no_link(number: int, back: bool, key: list[str | int]) -> None:
    assert read_page_link(page_link(number, back, tuple(key)), len(key) + 1) is None


@given(st.text(max_size=200), st.integers(1, 4))
def test_anything_else_is_the_first_page_and_never_an_error(raw: str, size: int) -> None:
    found = read_page_link(raw, size)
    assert found is None or (found.number >= 1 and len(found.key) == size)


def test_old_page_numbers_and_odd_values_are_the_first_page() -> None:
    for raw in ("", "2", "99999", "²", "-1"):
        assert read_page_link(raw, 2) is None
    assert read_page_link(encode(0, 0, "2026-01-01T00:00:00", 1), 2) is None  # page 0
    assert read_page_link(encode(2, 2, "2026-01-01T00:00:00", 1), 2) is None  # direction
    assert read_page_link(encode(2, 0, 1.5, 1), 2) is None  # a float key
    assert read_page_link(encode(2, 0, None, 1), 2) is None


def test_a_whole_number_in_any_usual_form_is_an_exact_search() -> None:
    for typed in ("+33 6 12 34 56 78", "06 12 34 56 78", "0033612345678", "+33612345678"):
        assert number_search(typed, "FR") == NumberSearch(exact="+33612345678"), typed
    assert number_search("(415) 555-2671", "US") == NumberSearch(exact="+14155552671")


def test_a_part_of_a_number_searches_its_digits_without_leading_zeros() -> None:
    assert number_search("06 12 34", "FR") == NumberSearch(digits="61234")
    assert number_search("+33 6 12", "FR") == NumberSearch(digits="33612")
    assert number_search("0033612", "FR") == NumberSearch(digits="33612")
    assert number_search("5678", "FR") == NumberSearch(digits="5678")


def test_no_digits_is_no_filter() -> None:
    for typed in ("", "   ", "%", "abc", "000", "+"):
        assert number_search(typed, "FR") == ANY_NUMBER, typed


@given(st.text(max_size=40), st.sampled_from(["FR", "US", "GB", None]))
def test_any_text_gives_a_search_and_never_an_error(typed: str, region: str | None) -> None:
    found = number_search(typed, region)
    assert found.exact is None or found.exact.startswith("+")
    assert found.exact is None or not found.digits
    assert found.digits == "" or not found.digits.startswith("0")
