"""SMPP text encoding, splitting and decoding (smpp.md §3, §13)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simgate.domain.sms import GSM7_BASIC, GSM7_EXTENSION, MAX_PARTS, count_segments
from simgate.smpp.text import (
    Concat,
    Concatenation,
    Dc0,
    Part,
    decode,
    encode_parts,
    sar_concatenation,
    split_udh,
)

CONCATS: tuple[Concat, ...] = ("udh8", "udh16", "sar", "payload")
DC0S: tuple[Dc0, ...] = ("gsm7", "latin1", "ascii")


def payloads(parts: list[Part]) -> list[bytes]:
    """The encoded text of each part, UDH removed (checked against its position)."""
    found = []
    for seq, part in enumerate(parts, start=1):
        if part.tlvs.get("message_payload") is not None:
            found.append(part.tlvs["message_payload"])
            continue
        concatenation, payload = split_udh(part.short_message, part.esm_class)
        if len(parts) > 1 and part.esm_class & 0x40:
            assert concatenation is not None
            assert (concatenation.total, concatenation.seq) == (len(parts), seq)
        found.append(payload)
    return [bytes(p) for p in found]


def joined_text(parts: list[Part], dc0: Dc0 = "gsm7") -> str:
    assert len({part.data_coding for part in parts}) == 1
    return decode(b"".join(payloads(parts)), parts[0].data_coding, dc0=dc0)


# --- the hex of smpp.md §13 and the characters that bite ---------------------------------


def test_submit_sm_short_message_of_the_appendix() -> None:
    [part] = encode_parts("Hi @ 5€", ref=1)
    assert part.short_message == bytes.fromhex("48 69 20 00 20 35 1b 65")
    assert (part.esm_class, part.data_coding, part.tlvs) == (0x00, 0, {})
    assert decode(part.short_message, 0) == "Hi @ 5€"


def test_ucs2_part_of_the_appendix_splits_and_decodes() -> None:
    short_message = bytes.fromhex("0500032a0201 00480069")
    concatenation, payload = split_udh(short_message, 0x40)
    assert concatenation == Concatenation(ref=0x2A, total=2, seq=1)
    assert decode(payload, 8) == "Hi"


def test_gsm7_codes_of_the_characters_that_bite() -> None:
    [part] = encode_parts("@_$£€{§¿", ref=0)
    assert part.short_message == bytes.fromhex("00 11 02 01 1b65 1b28 5f 60")
    assert decode(part.short_message, 0) == "@_$£€{§¿"


@pytest.mark.parametrize(
    ("dc0", "text", "data_coding", "octets"),
    [
        ("gsm7", "@_$£€{", 0, "00 11 02 01 1b65 1b28"),
        ("latin1", "@_$£€{", 8, "0040 005f 0024 00a3 20ac 007b"),  # € is not Latin-1
        ("latin1", "@_$£{", 0, "40 5f 24 a3 7b"),
        ("ascii", "@_$£{", 8, "0040 005f 0024 00a3 007b"),  # £ is not ASCII
        ("ascii", "@_${`", 0, "40 5f 24 7b 60"),
    ],
)
def test_what_data_coding_0_means_is_the_links_choice(
    dc0: Dc0, text: str, data_coding: int, octets: str
) -> None:
    [part] = encode_parts(text, ref=0, dc0=dc0)
    assert (part.data_coding, part.short_message) == (data_coding, bytes.fromhex(octets))
    assert decode(part.short_message, part.data_coding, dc0=dc0) == text


def test_backtick_is_not_gsm7() -> None:
    # smpplib maps ` to 0x5F (§ on the handset); it has no GSM-7 code at all.
    [part] = encode_parts("a`b", ref=0)
    assert part.data_coding == 8


# --- single part limits -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("€" * 80, 1),
        ("a" + "€" * 80, 2),
        ("ç" * 70, 1),
        ("ç" * 71, 2),
        ("😀" * 35, 1),
        ("a" + "😀" * 35, 2),
    ],
)
def test_one_sms_holds_160_septets_or_70_units(text: str, parts: int) -> None:
    found = encode_parts(text, ref=9)
    assert len(found) == parts == count_segments(text).parts
    if parts == 1:
        assert (found[0].esm_class, found[0].tlvs) == (0x00, {})


def test_empty_text_is_one_empty_part() -> None:
    assert encode_parts("", ref=0) == [Part(b"", 0x00, 0, {})]


@pytest.mark.parametrize("concat", CONCATS)
def test_short_text_goes_plain_whatever_the_mechanism(concat: Concat) -> None:
    assert encode_parts("hello", concat=concat, ref=3) == [Part(b"hello", 0x00, 0, {})]


def test_latin1_on_dc0_holds_140_octets_then_134_per_part() -> None:
    [single] = encode_parts("ç" * 140, ref=0, dc0="latin1")
    assert (single.data_coding, len(single.short_message)) == (0, 140)
    parts = encode_parts("ç" * 141, ref=5, dc0="latin1")
    assert [len(p.short_message) for p in parts] == [6 + 134, 6 + 7]
    parts16 = encode_parts("ç" * 141, concat="udh16", ref=5, dc0="latin1")
    assert [len(p.short_message) for p in parts16] == [7 + 133, 7 + 8]


# --- part boundaries ----------------------------------------------------------------------


def test_udh8_part_ends_before_an_escape_that_would_straddle() -> None:
    parts = encode_parts("a" * 152 + "€" + "b" * 10, ref=42)
    assert [p.short_message[:6] for p in parts] == [
        bytes.fromhex("0500032a0201"),
        bytes.fromhex("0500032a0202"),
    ]
    assert parts[0].short_message[6:] == b"a" * 152
    assert parts[1].short_message[6:] == b"\x1b\x65" + b"b" * 10
    assert all(p.esm_class == 0x40 and p.data_coding == 0 for p in parts)


def test_escape_ending_a_part_exactly_stays_in_it() -> None:
    parts = encode_parts("a" * 151 + "€" + "a" * 153, ref=1)
    assert len(parts) == 2
    assert parts[0].short_message[6:] == b"a" * 151 + b"\x1b\x65"


def test_udh16_parts_hold_152_septets() -> None:
    parts = encode_parts("a" * 151 + "€" + "b" * 10, concat="udh16", ref=0x1234)
    assert parts[0].short_message == bytes.fromhex("06080412340201") + b"a" * 151
    assert parts[1].short_message == bytes.fromhex("06080412340202") + b"\x1b\x65" + b"b" * 10
    assert len(encode_parts("a" * 304, concat="udh16", ref=0)) == 2
    assert len(encode_parts("a" * 305, concat="udh16", ref=0)) == 3


def test_sar_parts_have_udh8_sizes_and_tlvs_but_no_udh() -> None:
    parts = encode_parts("a" * 152 + "€" + "b" * 10, concat="sar", ref=0xBEEF)
    assert [p.short_message for p in parts] == [b"a" * 152, b"\x1b\x65" + b"b" * 10]
    assert [p.tlvs for p in parts] == [
        {"sar_msg_ref_num": 0xBEEF, "sar_total_segments": 2, "sar_segment_seqnum": 1},
        {"sar_msg_ref_num": 0xBEEF, "sar_total_segments": 2, "sar_segment_seqnum": 2},
    ]
    assert all(p.esm_class == 0x00 for p in parts)
    assert [sar_concatenation(p.tlvs) for p in parts] == [
        Concatenation(0xBEEF, 2, 1),
        Concatenation(0xBEEF, 2, 2),
    ]


def test_emoji_at_a_ucs2_boundary_moves_whole_to_the_next_part() -> None:
    text = "ç" * 66 + "😀" + "ç" * 10
    parts = encode_parts(text, ref=7)
    assert parts[0].short_message == bytes.fromhex("050003070201") + "ç".encode("utf-16-be") * 66
    assert parts[1].short_message[6:10] == bytes.fromhex("d83dde00")
    assert joined_text(parts) == text
    parts16 = encode_parts("ç" * 65 + "😀" + "ç" * 10, concat="udh16", ref=7)
    assert len(parts16[0].short_message) == 7 + 65 * 2
    assert parts16[1].short_message[7:11] == bytes.fromhex("d83dde00")


def test_payload_carries_everything_in_one_tlv() -> None:
    text = "x" * 300 + "€"
    [part] = encode_parts(text, concat="payload", ref=0)
    assert (part.short_message, part.esm_class, part.data_coding) == (b"", 0x00, 0)
    assert part.tlvs == {"message_payload": b"x" * 300 + b"\x1b\x65"}


@pytest.mark.parametrize(
    ("concat", "ref"), [("udh8", 256), ("udh8", -1), ("udh16", 65536), ("sar", 70000)]
)
def test_reference_out_of_range_is_refused(concat: Concat, ref: int) -> None:
    with pytest.raises(ValueError, match="reference"):
        encode_parts("hi", concat=concat, ref=ref)


@pytest.mark.parametrize("concat", CONCATS)
def test_more_than_255_parts_is_refused(concat: Concat) -> None:
    size = 152 if concat == "udh16" else 153
    assert (
        len(
            encode_parts(
                "a" * size * MAX_PARTS, concat="udh16" if concat == "udh16" else "udh8", ref=0
            )
        )
        == MAX_PARTS
    )
    with pytest.raises(ValueError, match="parts"):
        encode_parts("a" * (size * MAX_PARTS + 1), concat=concat, ref=0)


def test_lone_surrogate_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        encode_parts("a\ud83d", ref=0)


# --- decoding -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("octets", "data_coding", "dc0", "text"),
    [
        ("41 80 42", 0, "gsm7", "A?B"),  # not a septet
        ("41 1b 41 42", 0, "gsm7", "A?B"),  # escape to an unassigned code
        ("41 1b", 0, "gsm7", "A?"),  # escape with nothing after it
        ("1b 1b 65", 0, "gsm7", "?e"),
        ("e9 40", 0, "latin1", "é@"),
        ("40 e9", 0, "ascii", "@\ufffd"),
        ("40 5f", 1, "gsm7", "@_"),
        ("a3 e9", 3, "gsm7", "£é"),
        ("d83d 0041", 8, "gsm7", "\ufffdA"),  # lone high surrogate
        ("0041 00", 8, "gsm7", "A\ufffd"),  # odd octet
        ("00 11", 0xF0, "latin1", "@_"),  # GSM DCS class 0, default alphabet
        ("00 11", 0x10, "latin1", "@_"),
        ("00e9", 0x18, "gsm7", "é"),  # GSM DCS class 0, UCS-2
        ("00e9", 0xE0, "gsm7", "é"),  # message waiting, UCS-2
        ("00 e9", 0xF4, "gsm7", "\x00é"),  # GSM DCS 8-bit data
        ("00 e9", 4, "gsm7", "\x00é"),  # binary
        ("ff", 0x2A, "gsm7", "ÿ"),  # compressed: not for us, shown as Latin-1
        ("b0", 6, "gsm7", "А"),  # ISO-8859-5, Cyrillic A
    ],
)
def test_decode(octets: str, data_coding: int, dc0: Dc0, text: str) -> None:
    assert decode(bytes.fromhex(octets), data_coding, dc0=dc0) == text


# --- UDH parsing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("octets", "esm_class", "concatenation", "payload"),
    [
        ("050003ff0302 41", 0x40, Concatenation(255, 3, 2), "41"),
        ("0608041234ff01 41", 0x40, Concatenation(0x1234, 255, 1), "41"),
        ("050003ff0302 41", 0x00, None, "050003ff0302 41"),  # no UDHI: all payload
        ("050003ff0302 41", 0x43, Concatenation(255, 3, 2), "41"),  # other bits ignored
        # a port IE (0x05) is skipped, the concatenation after it read
        ("0b 0504 0b8423f0 0003 07 02 01 41", 0x40, Concatenation(7, 2, 1), "41"),
        ("050003070200 41", 0x40, None, "41"),  # seq 0: ignored
        ("050003070203 41", 0x40, None, "41"),  # seq past total: ignored
        ("050003070000 41", 0x40, None, "41"),  # total 0
        ("00 41", 0x40, None, "41"),  # empty UDH
        ("0a 0003070201 0003010101 41", 0x40, Concatenation(7, 2, 1), "41"),  # the first wins
        ("", 0x40, None, ""),
        ("05 0003", 0x40, None, "05 0003"),  # UDH longer than the message
        ("03 0005 01 41", 0x40, None, "03 0005 01 41"),  # IE longer than the UDH
        ("01 00 41", 0x40, None, "01 00 41"),  # IE header cut by the UDH end
    ],
)
def test_split_udh(
    octets: str, esm_class: int, concatenation: Concatenation | None, payload: str
) -> None:
    assert split_udh(bytes.fromhex(octets), esm_class) == (concatenation, bytes.fromhex(payload))


@pytest.mark.parametrize(
    "tlvs",
    [
        {},
        {"sar_msg_ref_num": 1, "sar_total_segments": 2},
        {"sar_msg_ref_num": 1, "sar_total_segments": 2, "sar_segment_seqnum": 3},
        {"sar_msg_ref_num": 1, "sar_total_segments": 2, "sar_segment_seqnum": b"\x01"},
        {"sar_msg_ref_num": 70000, "sar_total_segments": 2, "sar_segment_seqnum": 1},
        {"sar_msg_ref_num": True, "sar_total_segments": 2, "sar_segment_seqnum": 1},
    ],
)
def test_sar_concatenation_refuses_what_does_not_add_up(tlvs: dict[str, object]) -> None:
    assert sar_concatenation(tlvs) is None


# --- properties ---------------------------------------------------------------------------

GSM_CHARS = "".join(sorted((GSM7_BASIC - {"\x1b"}) | GSM7_EXTENSION))
gsm_texts = st.text(alphabet=GSM_CHARS, max_size=700)
# Mostly GSM-7 with the odd character that forces UCS-2: emoji (surrogate
# pairs), accents outside GSM-7, CJK, and anything hypothesis likes.
any_texts = st.text(
    alphabet=st.one_of(
        st.sampled_from(GSM_CHARS),
        st.sampled_from("😀🎉👍🏽ç€ĞŞ中文`"),
        st.characters(codec="utf-8"),
    ),
    max_size=500,
)


def air_octets(part: Part) -> int:
    """What the part takes on the air: GSM-7 septets are packed after the UDH,
    which is padded to a septet boundary (GSM 03.40 §9.2.3.24)."""
    concatenation, payload = split_udh(part.short_message, part.esm_class)
    header = len(part.short_message) - len(payload)
    if part.data_coding != 0:
        return len(part.short_message)
    septets = -(-header * 8 // 7) + len(payload)
    return -(-septets * 7 // 8)


def check_parts(text: str, parts: list[Part], dc0: Dc0) -> None:
    assert joined_text(parts, dc0) == text
    gsm = parts[0].data_coding == 0 and dc0 == "gsm7"
    for part in parts:
        if "message_payload" in part.tlvs:
            continue
        assert air_octets(part) <= 140
    if len(parts) > 1:
        for payload in payloads(parts)[:-1]:
            if gsm:
                assert not payload.endswith(b"\x1b")
            elif parts[0].data_coding == 8:
                assert len(payload) % 2 == 0
                assert not 0xD8 <= payload[-2] <= 0xDB


@settings(max_examples=300, deadline=None)
@given(text=gsm_texts, concat=st.sampled_from(CONCATS), ref=st.integers(0, 255))
def test_gsm_text_round_trips_in_parts_that_fit(text: str, concat: Concat, ref: int) -> None:
    parts = encode_parts(text, concat=concat, ref=ref)
    assert all(part.data_coding == 0 for part in parts)
    check_parts(text, parts, "gsm7")


@settings(max_examples=300, deadline=None)
@given(
    text=any_texts,
    concat=st.sampled_from(CONCATS),
    dc0=st.sampled_from(DC0S),
    ref=st.integers(0, 255),
)
def test_any_text_round_trips_in_parts_that_fit(
    text: str, concat: Concat, dc0: Dc0, ref: int
) -> None:
    parts = encode_parts(text, concat=concat, ref=ref, dc0=dc0)
    check_parts(text, parts, dc0)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(gsm_texts, any_texts))
def test_udh8_parts_agree_with_count_segments(text: str) -> None:
    segments = count_segments(text)
    parts = encode_parts(text, ref=0)
    assert len(parts) == segments.parts
    assert parts[0].data_coding == (0 if segments.encoding == "GSM-7" else 8)


@settings(max_examples=500, deadline=None)
@given(
    octets=st.binary(max_size=200),
    esm_class=st.integers(0, 255),
    data_coding=st.integers(0, 255),
    dc0=st.sampled_from(DC0S),
)
def test_parsing_any_bytes_never_raises(
    octets: bytes, esm_class: int, data_coding: int, dc0: Dc0
) -> None:
    concatenation, payload = split_udh(octets, esm_class)
    assert octets.endswith(payload)
    if concatenation is not None:
        assert 1 <= concatenation.seq <= concatenation.total
    assert isinstance(decode(payload, data_coding, dc0=dc0), str)
