"""The activity rollups' keys and the figures read from them (domain/activity.py)."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from simgate.domain.activity import (
    CLICKS,
    RECEIVED,
    KindTotal,
    LabelKey,
    LabelTotal,
    by_kind,
    by_label,
    call_key,
    is_label,
    label_key,
    parse_label,
    qualified_key,
)

options = st.none() | st.integers(1, 2**31 - 1)
texts = st.text(max_size=40)


@given(options, texts)
def test_a_label_key_gives_back_its_option_and_text(option_id: int | None, text: str) -> None:
    key = label_key(option_id, text)
    assert is_label(key)
    assert parse_label(key) == LabelKey(option_id, text)


def test_a_hashed_label_key_says_so() -> None:
    assert parse_label("label#7:0cc175b9c0f1b6a831c399e269772661") == LabelKey(
        7, "0cc175b9c0f1b6a831c399e269772661", hashed=True
    )
    assert parse_label("label#:abc") == LabelKey(None, "abc", hashed=True)


def test_other_keys_are_not_labels() -> None:
    for key in (RECEIVED, CLICKS, call_key("missed_call"), qualified_key("incoming_call")):
        assert not is_label(key)


@given(st.lists(st.tuples(st.sampled_from(("A", "B", "a:b", "é", "")), options), max_size=30))
def test_labels_read_as_a_group_by_text_with_max_option(rows: list[tuple[str, int | None]]) -> None:
    """What SELECT text, max(option_id), count(*) ... GROUP BY text ORDER BY
    count(*) DESC, text answers, from the counts per (option, text)."""
    counts = Counter(LabelKey(option, text) for text, option in rows)
    expected = []
    for text in {text for text, _ in rows}:
        chosen = [option for t, option in rows if t == text]
        present = [option for option in chosen if option is not None]
        expected.append(LabelTotal(text, max(present) if present else None, len(chosen)))
    expected.sort(key=lambda total: (-total.count, total.label))
    assert by_label(counts.items()) == expected


def test_labels_at_zero_are_left_out() -> None:
    counts = [(LabelKey(3, "A"), 0), (LabelKey(1, "A"), 2), (LabelKey(None, "B"), 0)]
    assert by_label(counts) == [LabelTotal("A", 1, 2)]


def test_kinds_with_calls_are_listed_with_their_qualified_ones() -> None:
    tally = Counter(
        {
            call_key("missed_call"): 3,
            call_key("incoming_call"): 2,
            qualified_key("incoming_call"): 1,
            call_key("outgoing_call"): 0,
            RECEIVED: 9,
            label_key(None, "call:x"): 4,
        }
    )
    assert by_kind(tally) == [KindTotal("incoming_call", 2, 1), KindTotal("missed_call", 3, 0)]
