"""Keyset cursors for v2 lists (domain/cursors): opaque, and nothing in them trusted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simgate.domain import cursors

plain = st.one_of(st.none(), st.integers(), st.text(max_size=40))


@given(st.lists(plain, min_size=1, max_size=4))
def test_round_trip(values: list[object]) -> None:
    text = cursors.encode(*values)  # type: ignore[arg-type]
    assert text.isascii() and "=" not in text
    if len(text) <= cursors.MAX_CURSOR_LENGTH:
        assert cursors.decode(text, len(values)) == values


@pytest.mark.parametrize(
    ("bad", "size"),
    [
        ("", 1),
        ("!!!", 1),
        ("e30", 1),  # {}
        (cursors.encode(1), 2),  # one value short
        ("x" * 600, 1),  # too long
        (cursors.encode(True, 1), 2),  # a boolean is no sort key
        (cursors.encode(1, 2), 1),  # one value too many
    ],
)
def test_refused(bad: str, size: int) -> None:
    with pytest.raises(cursors.InvalidCursor):
        cursors.decode(bad, size)


@given(st.text(max_size=100))
def test_any_text_is_a_cursor_or_refused(text: str) -> None:
    try:
        values = cursors.decode(text, 2)
    except cursors.InvalidCursor:
        return
    assert len(values) == 2
