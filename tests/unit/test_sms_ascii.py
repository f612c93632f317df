"""count_segments' ASCII fast path (domain/sms) agrees with the general count
for every ASCII text, the extension table's and GSM-7's missing characters
included."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from simgate.domain.sms import GSM7_BASIC, GSM7_EXTENSION, _segments, count_segments

ascii_text = st.text(alphabet=st.characters(max_codepoint=127), max_size=700)
mostly_plain = st.text(alphabet=st.sampled_from("ab Z09_.\n\r[`~\x1b\x00é"), max_size=700)


def general(text: str) -> tuple[str, int, int]:
    """The count without the fast path (the set-based one it replaces)."""
    chars = frozenset(text)
    if chars <= (GSM7_BASIC - {"\x1b"}) | GSM7_EXTENSION:
        seg = _segments("GSM-7", text, (chars & GSM7_EXTENSION) or None)
    else:
        astral = frozenset(c for c in chars if ord(c) > 0xFFFF)
        seg = _segments("UCS-2", text, astral or None)
    return seg.encoding, seg.parts, seg.units


@given(st.one_of(ascii_text, mostly_plain))
def test_the_ascii_fast_path_counts_like_the_general_one(text: str) -> None:
    seg = count_segments(text)
    assert (seg.encoding, seg.parts, seg.units) == general(text)
