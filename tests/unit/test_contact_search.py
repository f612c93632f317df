"""Scoring contact searches (domain/contact_search) and the tag and field-name
rules (domain/contact_rules): pure, no store."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simgate.domain import contact_rules
from simgate.domain.contact_search import (
    MODES,
    NameIndex,
    best,
    looks_like_phone,
    phone_digits,
    sorted_words,
)
from simgate.domain.search import search_name

PEOPLE = [
    (1, "Cécile", "Dubois", "+33612345678"),
    (2, "Jean", "Martin", "+33611111111"),
    (3, "Jeanne", "Dupont", "+33622222222"),
    (4, "Marc", "Durand", "+33633333333"),
    (5, "Jean-Pierre", "Dubois", "+33644444444"),
    (6, "Cécile", "Dubois", "+33655555555"),  # the same name twice
    (7, "", "", "+33666666666"),  # no name at all
]


@pytest.fixture(scope="module")
def index() -> NameIndex:
    return NameIndex((cid, search_name(f, last), phone) for cid, f, last, phone in PEOPLE)


def found(index: NameIndex, text: str, **kw: object) -> list[tuple[int, int, str]]:
    return [(hit.contact_id, hit.score, hit.match_type) for hit in index.search(text, **kw)]  # type: ignore[arg-type]


def test_exact_names_in_either_order_and_whole_words(index: NameIndex) -> None:
    assert found(index, "Cécile DUBOIS", limit=2) == [(1, 100, "exact"), (6, 100, "exact")]
    assert found(index, "dubois cecile", limit=2) == [(1, 100, "exact"), (6, 100, "exact")]
    # A whole word: "dubois" is the last name of three; ties by name, then id.
    assert found(index, "dubois", limit=3) == [(1, 95, "exact"), (6, 95, "exact"), (5, 95, "exact")]


def test_prefixes(index: NameIndex) -> None:
    assert found(index, "jean m", limit=1) == [(2, 90, "starts_with")]
    assert found(index, "dup", limit=5) == [(3, 85, "starts_with")]
    # every word of the query starts a word of the name
    assert found(index, "mar jea", limit=5) == [(2, 85, "starts_with")]
    assert found(index, "dup", mode="exact") == []


def test_fuzzy_only_when_asked_and_only_in_smart_mode(index: NameIndex) -> None:
    typo = found(index, "cecille duboiss", limit=1)
    assert typo[0][0] in (1, 6) and typo[0][2] == "fuzzy" and 63 <= typo[0][1] <= 84
    assert found(index, "cecille duboiss", fuzzy=False) == []
    assert found(index, "cecille duboiss", mode="starts_with") == []
    assert found(index, "marten", limit=1)[0][:1] == (2,)


def test_contains_is_the_last_band(index: NameIndex) -> None:
    assert found(index, "uran", fuzzy=False) == [(4, 50, "contains")]
    assert found(index, "zzzz") == []


def test_phone_numbers(index: NameIndex) -> None:
    assert found(index, "06 12 34 56 78", e164="+33612345678") == [(1, 100, "phone")]
    assert found(index, "0611", limit=5) == [(2, 80, "phone")]
    assert found(index, "+33 6 66") == [(7, 80, "phone")]


def test_excluded_contacts_are_never_found(index: NameIndex) -> None:
    assert found(index, "cecile dubois", exclude=frozenset({1})) == [(6, 100, "exact")]
    assert found(index, "0612345678", e164="+33612345678", exclude=frozenset({1})) == []


def test_best_merges_indexes() -> None:
    one = NameIndex([(1, "anne a", "+1"), (3, "anne c", "+3")])
    two = NameIndex([(2, "anne b", "+2")])
    hits = one.search("anne", limit=3) + two.search("anne", limit=3)
    assert [hit.contact_id for hit in best(hits, 2)] == [1, 2]


def test_helpers() -> None:
    assert sorted_words("dubois cecile") == sorted_words("cecile dubois")
    assert looks_like_phone("+33 (0)6 12-34") and not looks_like_phone("12")
    assert not looks_like_phone("jean 06")
    assert phone_digits("06 12") == "612" and phone_digits("+33 6") == "336"


def test_an_empty_index() -> None:
    empty = NameIndex([])
    for mode in MODES:
        assert empty.search("anything", mode=mode) == []
    assert empty.search("0612") == []


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=30),
    mode=st.sampled_from(MODES),
    fuzzy=st.booleans(),
    limit=st.integers(1, 10),
)
def test_any_text_gives_at_most_limit_valid_hits(
    text: str, mode: str, fuzzy: bool, limit: int
) -> None:
    index = NameIndex((cid, search_name(f, last), phone) for cid, f, last, phone in PEOPLE)
    hits = index.search(text, mode=mode, fuzzy=fuzzy, limit=limit)
    assert len(hits) <= limit
    assert len({hit.contact_id for hit in hits}) == len(hits)
    assert [hit.rank for hit in hits] == sorted(hit.rank for hit in hits)
    for hit in hits:
        assert 0 <= hit.score <= 100
        assert hit.match_type in ("exact", "starts_with", "fuzzy", "contains", "phone")


@given(st.text(max_size=80))
def test_a_clean_tag_is_trimmed_lowered_and_bounded(raw: str) -> None:
    try:
        tag = contact_rules.clean_tag(raw)
    except contact_rules.BadTag:
        return
    assert tag == tag.strip() and tag == tag.lower() and 0 < len(tag) <= 64
    assert contact_rules.clean_tag(tag) == tag


def test_tag_rules() -> None:
    assert contact_rules.clean_tags([" VIP ", "vip", "Gold  Card"]) == ["vip", "gold card"]
    for bad in ("", "   ", "x" * 65, "a\tb\x01"):
        with pytest.raises(contact_rules.BadTag):
            contact_rules.clean_tag(bad)


@given(st.text(max_size=70))
def test_custom_field_names(name: str) -> None:
    ok = contact_rules.is_custom_field_name(name)
    assert ok == (
        0 < len(name) <= 64 and all(c in "abcdefghijklmnopqrstuvwxyz0123456789_" for c in name)
    )
