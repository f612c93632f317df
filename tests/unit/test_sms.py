"""SMS segment counting by GSM 03.38 rules."""

from __future__ import annotations

import random

import pytest

from simgate.domain.sms import GSM7_BASIC, GSM7_EXTENSION, count_segments


def test_alphabets_have_the_standard_sizes() -> None:
    # 128 code points in the default table (ESC included), 10 in the extension table.
    assert len(GSM7_BASIC) == 128
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION


@pytest.mark.parametrize(
    ("length", "parts"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_fits_160_then_153_per_part(length: int, parts: int) -> None:
    seg = count_segments("a" * length)
    assert (seg.encoding, seg.parts, seg.units) == ("GSM-7", parts, length)


def test_empty_text_is_one_part() -> None:
    assert count_segments("").parts == 1


def test_gsm7_basic_accents_stay_gsm7() -> None:
    seg = count_segments("àéèùìòÇÑÜäöñü £$¥ @ ΔΦΓΛΩΠΨΣΘΞ ¡¿§")
    assert seg.encoding == "GSM-7"


@pytest.mark.parametrize("char", sorted(GSM7_EXTENSION))
def test_extension_characters_cost_two_septets(char: str) -> None:
    seg = count_segments(char * 80)
    assert (seg.encoding, seg.units, seg.parts) == ("GSM-7", 160, 1)
    seg = count_segments("a" + char * 80)
    assert (seg.units, seg.parts) == (161, 2)


def test_escape_sequence_never_split_at_a_part_boundary() -> None:
    # 152 septets then "€" (ESC + char) would straddle septet 153: the pair
    # moves whole to part two, so 306 septets need 3 parts, not 306 / 153 = 2.
    text = "a" * 152 + "€" + "a" * 152
    seg = count_segments(text)
    assert seg.units == 306
    assert seg.parts == 3
    # One septet earlier the pair ends part one exactly: two parts.
    assert count_segments("a" * 151 + "€" + "a" * 153).parts == 2


def test_any_non_gsm_character_switches_to_ucs2() -> None:
    seg = count_segments("a" * 100 + "ç")  # lower-case ç is not in GSM-7 (only Ç)
    assert (seg.encoding, seg.units, seg.parts) == ("UCS-2", 101, 2)


@pytest.mark.parametrize(
    ("length", "parts"), [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_ucs2_fits_70_then_67_per_part(length: int, parts: int) -> None:
    seg = count_segments("я" * length)
    assert (seg.encoding, seg.parts, seg.units) == ("UCS-2", parts, length)


def test_ucs2_counts_utf16_code_units() -> None:
    seg = count_segments("😀" * 35)  # each emoji is a surrogate pair: 2 units
    assert (seg.encoding, seg.units, seg.parts) == ("UCS-2", 70, 1)
    assert count_segments("😀" * 35 + "a").parts == 2


def test_surrogate_pair_never_split_at_a_part_boundary() -> None:
    # 66 units then an emoji (2 units) would straddle 67: it goes whole to part two.
    text = "я" * 66 + "😀" + "я" * 66
    seg = count_segments(text)
    assert seg.units == 134
    assert seg.parts == 3
    assert count_segments("я" * 65 + "😀" + "я" * 67).parts == 2


def test_escape_character_itself_is_not_text() -> None:
    assert count_segments("\x1b").encoding == "UCS-2"


def _reference_count(text: str) -> tuple[str, int, int]:
    """A slow, obvious count to check the fast paths against."""
    if all(c in GSM7_BASIC and c != "\x1b" or c in GSM7_EXTENSION for c in text):
        costs, single, multi, encoding = (
            [2 if c in GSM7_EXTENSION else 1 for c in text],
            160,
            153,
            "GSM-7",
        )
    else:
        costs, single, multi, encoding = (
            [2 if ord(c) > 0xFFFF else 1 for c in text],
            70,
            67,
            "UCS-2",
        )
    if sum(costs) <= single:
        return encoding, 1, sum(costs)
    parts, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            parts, used = parts + 1, 0
        used += cost
    return encoding, parts, sum(costs)


def test_fast_paths_agree_with_a_plain_count() -> None:
    rng = random.Random(2026)
    alphabets = ["abc ", "abc€[", "абв", "ab😀", "a€😀я", "\n\r@£"]
    for _ in range(3000):
        text = "".join(rng.choice(rng.choice(alphabets)) for _ in range(rng.randrange(0, 500)))
        seg = count_segments(text)
        assert (seg.encoding, seg.parts, seg.units) == _reference_count(text), text
