"""Long MO reassembly (smpp.md §6): any order, duplicates, timeouts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from simgate.smpp.mo import Reassembly
from simgate.smpp.text import Concatenation, decode, encode_parts, split_udh

KEY = ("491701234567", "12345")


def test_parts_in_any_order_join_when_the_last_arrives() -> None:
    box = Reassembly()
    assert box.add(KEY, Concatenation(7, 3, 3), b"C", now=0.0) is None
    assert box.add(KEY, Concatenation(7, 3, 1), b"A", now=1.0) is None
    assert len(box) == 1
    assert box.add(KEY, Concatenation(7, 3, 2), b"B", now=2.0) == b"ABC"
    assert len(box) == 0


def test_a_single_part_concatenation_is_complete_at_once() -> None:
    assert Reassembly().add(KEY, Concatenation(1, 1, 1), b"solo", now=0.0) == b"solo"


def test_duplicates_are_tolerated() -> None:
    box = Reassembly()
    assert box.add(KEY, Concatenation(7, 2, 1), b"A", now=0.0) is None
    assert box.add(KEY, Concatenation(7, 2, 1), b"A", now=0.5) is None
    assert box.add(KEY, Concatenation(7, 2, 2), b"B", now=1.0) == b"AB"
    # The SMSC redelivers the whole message: nothing is delivered twice,
    # and nothing is left waiting to expire as a fragment.
    assert box.add(KEY, Concatenation(7, 2, 1), b"A", now=2.0) is None
    assert box.add(KEY, Concatenation(7, 2, 2), b"B", now=2.5) is None
    assert len(box) == 0
    assert box.expire(now=10_000.0) == []


def test_a_reused_reference_with_other_content_is_a_new_message() -> None:
    box = Reassembly()
    box.add(KEY, Concatenation(7, 2, 1), b"A", now=0.0)
    assert box.add(KEY, Concatenation(7, 2, 2), b"B", now=1.0) == b"AB"
    assert box.add(KEY, Concatenation(7, 2, 2), b"Y", now=5.0) is None
    assert box.add(KEY, Concatenation(7, 2, 1), b"X", now=6.0) == b"XY"


def test_groups_are_kept_apart_by_sender_recipient_reference_and_total() -> None:
    box = Reassembly()
    box.add(KEY, Concatenation(7, 2, 1), b"A", now=0.0)
    box.add(("other", "12345"), Concatenation(7, 2, 2), b"x", now=0.0)
    box.add(KEY, Concatenation(8, 2, 2), b"y", now=0.0)
    box.add(KEY, Concatenation(7, 3, 2), b"z", now=0.0)
    assert len(box) == 4
    assert box.add(KEY, Concatenation(7, 2, 2), b"B", now=0.0) == b"AB"


def test_expire_hands_back_what_arrived_in_order_with_gaps_dropped() -> None:
    box = Reassembly(keep=600.0)
    box.add(KEY, Concatenation(9, 4, 4), b"D", now=0.0)
    box.add(KEY, Concatenation(9, 4, 1), b"A", now=100.0)
    box.add(KEY, Concatenation(10, 2, 1), b"later", now=300.0)
    assert box.expire(now=600.0) == []  # not older than keep yet
    assert box.expire(now=601.0) == [b"AD"]
    assert len(box) == 1
    assert box.expire(now=901.0) == [b"later"]
    assert len(box) == 0


def test_a_bad_sequence_number_is_taken_alone() -> None:
    # split_udh never gives one; a hand-made Concatenation must not break the box.
    assert Reassembly().add(KEY, Concatenation(1, 2, 3), b"odd", now=0.0) == b"odd"


def test_a_surrogate_pair_split_across_parts_survives() -> None:
    # UCS-2 split by a sender that does not care about pairs: D83D | DE00.
    text = "ç" * 66 + "😀"
    octets = text.encode("utf-16-be")
    udh = bytes.fromhex("050003050201"), bytes.fromhex("050003050202")
    box = Reassembly()
    joined = None
    for header, chunk in zip(udh, (octets[:134], octets[134:]), strict=True):
        concatenation, payload = split_udh(header + chunk, 0x40)
        assert concatenation is not None
        joined = box.add(KEY, concatenation, payload, now=0.0)
    assert joined is not None and decode(joined, 8) == text


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from("aZ@€{😀ç "), min_size=1, max_size=600),
    data=st.data(),
)
def test_encoded_parts_shuffled_and_duplicated_reassemble(text: str, data: st.DataObject) -> None:
    parts = encode_parts(text, ref=77)
    arrivals = data.draw(
        st.permutations(parts + data.draw(st.lists(st.sampled_from(parts), max_size=3)))
    )
    box = Reassembly()
    delivered = []
    for part in arrivals:
        concatenation, payload = split_udh(part.short_message, part.esm_class)
        if concatenation is None:
            delivered.append(payload)
            continue
        joined = box.add(KEY, concatenation, payload, now=0.0)
        if joined is not None:
            delivered.append(joined)
    # Duplicates of a single unconcatenated part are the caller's to dedupe.
    assert {decode(octets, parts[0].data_coding) for octets in delivered} == {text}
    if len(parts) > 1:
        assert len(delivered) == 1
    assert box.expire(now=1e9) == []
