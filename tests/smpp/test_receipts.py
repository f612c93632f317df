"""Delivery receipt parsing and message_id matching (smpp.md §5, §10 pitfalls 7 and 9)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simgate.smpp.receipts import FINAL_STATES, Receipt, id_keys, match_rank, parse_receipt

APPENDIX = (
    b"id:0a1b2c3d sub:001 dlvrd:001 submit date:2611251230 done date:2611251231"
    b" stat:DELIVRD err:000 text:Hi @ 5"
)


def test_receipt_of_the_appendix_with_its_tlvs() -> None:
    tlvs = {"receipted_message_id": b"0a1b2c3d", "message_state": 2}
    assert parse_receipt(APPENDIX, tlvs, 0x04) == Receipt(
        message_id="0a1b2c3d",
        stat="DELIVRD",
        final=True,
        outcome="delivered",
        error=None,
        done_at=datetime(2026, 11, 25, 12, 31),
    )


def test_text_alone_is_enough() -> None:
    receipt = parse_receipt(APPENDIX, {}, 0x04)
    assert receipt is not None
    assert (receipt.message_id, receipt.stat, receipt.outcome) == (
        "0a1b2c3d",
        "DELIVRD",
        "delivered",
    )


def test_twelve_digit_dates_and_hex_err() -> None:
    text = (
        b"id:12345 sub:001 dlvrd:000 submit date:261125123005 done date:261125123107"
        b" stat:UNDELIV err:0x1B text:"
    )
    receipt = parse_receipt(text, {}, 0x04)
    assert receipt == Receipt(
        "12345", "UNDELIV", True, "failed", "0x1B", datetime(2026, 11, 25, 12, 31, 7)
    )


@pytest.mark.parametrize(
    ("stat", "outcome"),
    [
        ("DELIVRD", "delivered"),
        ("UNDELIV", "failed"),
        ("DELETED", "failed"),
        ("REJECTD", "failed"),
        ("UNKNOWN", "failed"),
        ("EXPIRED", "expired"),
    ],
)
def test_final_states(stat: str, outcome: str) -> None:
    assert FINAL_STATES[stat] == outcome
    receipt = parse_receipt(f"id:1 stat:{stat} err:001".encode(), {}, 0x04)
    assert receipt is not None
    assert (receipt.stat, receipt.final, receipt.outcome, receipt.error) == (
        stat,
        True,
        outcome,
        "001",
    )


@pytest.mark.parametrize("stat", ["ACCEPTD", "ENROUTE"])
def test_intermediate_states_are_not_final(stat: str) -> None:
    receipt = parse_receipt(f"id:1 stat:{stat}".encode(), {}, 0x04)
    assert receipt is not None
    assert (receipt.stat, receipt.final, receipt.outcome) == (stat, False, None)


@pytest.mark.parametrize(
    ("state", "stat"),
    [
        (1, "ENROUTE"),
        (2, "DELIVRD"),
        (3, "EXPIRED"),
        (4, "DELETED"),
        (5, "UNDELIV"),
        (6, "ACCEPTD"),
        (7, "UNKNOWN"),
        (8, "REJECTD"),
    ],
)
def test_message_state_tlv_wins_over_the_text(state: int, stat: str) -> None:
    text = b"id:999 stat:DELIVRD err:000"
    for value in (state, bytes([state]), str(state)):
        receipt = parse_receipt(
            text, {"receipted_message_id": "abc\x00", "message_state": value}, 0x04
        )
        assert receipt is not None
        assert (receipt.message_id, receipt.stat) == ("abc", stat)


def test_tlvs_by_tag_number_also_count() -> None:
    receipt = parse_receipt(b"", {0x001E: b"00000001\x00", 0x0427: b"\x02"}, 0x04)  # type: ignore[dict-item]
    assert receipt is not None
    assert (receipt.message_id, receipt.stat, receipt.final) == ("00000001", "DELIVRD", True)


def test_message_state_out_of_range_falls_back_to_the_text() -> None:
    receipt = parse_receipt(b"id:7 stat:EXPIRED", {"message_state": 9}, 0x04)
    assert receipt is not None and receipt.stat == "EXPIRED"


def test_capitalised_keys_other_order_extra_fields() -> None:
    text = b"Stat:Delivrd ID:AbC-1 vendor:xyz Done Date:2611251231 Err:000 Text:whatever"
    receipt = parse_receipt(text, {}, 0x00)  # esm_class 0: known by its id and stat
    assert receipt is not None
    assert (receipt.message_id, receipt.stat, receipt.error) == ("AbC-1", "DELIVRD", None)
    assert receipt.done_at == datetime(2026, 11, 25, 12, 31)


def test_fields_quoted_in_the_text_do_not_count() -> None:
    text = b"id:42 stat:UNDELIV err:005 text:id:1 stat:DELIVRD err:000"
    receipt = parse_receipt(text, {}, 0x04)
    assert receipt is not None
    assert (receipt.message_id, receipt.stat, receipt.error) == ("42", "UNDELIV", "005")


def test_missing_fields() -> None:
    receipt = parse_receipt(b"id:42", {}, 0x04)
    assert receipt == Receipt("42", "", False, None, None, None)
    empty = parse_receipt(b"", {}, 0x04)
    assert empty == Receipt("", "", False, None, None, None)
    assert id_keys(empty.message_id) == []


def test_an_id_followed_by_a_space_is_not_the_next_field() -> None:
    receipt = parse_receipt(b"id: sub:001 stat:DELIVRD", {}, 0x04)
    assert receipt is not None and receipt.message_id == ""
    receipt = parse_receipt(b"id: done date:2611251231 stat:DELIVRD", {}, 0x04)
    assert receipt is not None and receipt.message_id == ""
    receipt = parse_receipt(b"id:12\x00 stat:DELIVRD", {}, 0x04)
    assert receipt is not None and receipt.message_id == "12"
    receipt = parse_receipt(b"id: 77 sub:001 stat:DELIVRD", {}, 0x04)
    assert receipt is not None and receipt.message_id == "77"


@pytest.mark.parametrize(
    ("stat", "normal"),
    [
        ("DELIVERED", "DELIVRD"),
        ("undeliverable", "UNDELIV"),
        ("Rejected", "REJECTD"),
        ("ACCEPTED", "ACCEPTD"),
    ],
)
def test_long_state_spellings(stat: str, normal: str) -> None:
    receipt = parse_receipt(f"id:1 stat:{stat}".encode(), {}, 0x04)
    assert receipt is not None and receipt.stat == normal


def test_a_state_nobody_knows_is_kept_but_not_final() -> None:
    receipt = parse_receipt(b"id:1 stat:BUFFRED", {}, 0x04)
    assert receipt is not None
    assert (receipt.stat, receipt.final, receipt.outcome) == ("BUFFRED", False, None)


def test_err_zero_is_no_error_only_when_delivered() -> None:
    delivered = parse_receipt(b"id:1 stat:DELIVRD err:0x00", {}, 0x04)
    assert delivered is not None and delivered.error is None
    failed = parse_receipt(b"id:1 stat:UNDELIV err:000", {}, 0x04)
    assert failed is not None and failed.error == "000"


@pytest.mark.parametrize(
    ("value", "stat", "error"),
    [
        (b"\x03\x00\xff", "UNDELIV", "0300ff"),
        (b"\x03\x00\x00", "DELIVRD", None),
        (b"\x03\x00\x00", "UNDELIV", "030000"),
        (0x030001, "UNDELIV", "030001"),
        ("\x03\x00\x01", "UNDELIV", "030001"),
    ],
)
def test_network_error_code_as_hex_when_err_is_missing(
    value: Any, stat: str, error: str | None
) -> None:
    receipt = parse_receipt(f"id:1 stat:{stat}".encode(), {"network_error_code": value}, 0x04)
    assert receipt is not None and receipt.error == error


def test_err_text_wins_over_network_error_code() -> None:
    receipt = parse_receipt(
        b"id:1 stat:UNDELIV err:001", {"network_error_code": b"\x03\x00\x0b"}, 0x04
    )
    assert receipt is not None and receipt.error == "001"


def test_invalid_done_date_is_none() -> None:
    receipt = parse_receipt(b"id:1 stat:DELIVRD done date:2613451299", {}, 0x04)
    assert receipt is not None and receipt.done_at is None
    odd = parse_receipt(b"id:1 stat:DELIVRD done date:26112512311", {}, 0x04)  # 11 digits
    assert odd is not None and odd.done_at is None


def test_ucs2_receipt_text() -> None:
    receipt = parse_receipt("id:5 stat:EXPIRED".encode("utf-16-be"), {}, 0x04)
    assert receipt is not None and (receipt.message_id, receipt.stat) == ("5", "EXPIRED")


def test_vendor_tlvs_are_ignored() -> None:
    tlvs = {"vendor_1401": b"\xca\xfe", "additional_status_info_text": b"\xff\x00"}
    receipt = parse_receipt(APPENDIX, tlvs, 0x04)
    assert receipt is not None and receipt.stat == "DELIVRD"


@pytest.mark.parametrize(
    ("short_message", "tlvs", "esm_class"),
    [
        (b"hello there", {}, 0x00),
        (b"hello there", {}, 0x40),
        (b"my id:5 is fine", {}, 0x00),  # id but no stat
        (b"stat:DELIVRD", {}, 0x00),  # stat but no id
        (b"hi", {"receipted_message_id": b"1"}, 0x00),  # TLV id but no state
        (b"id:7 stat:ok", {}, 0x00),  # a person's text, not a state
        (b"hello", {}, 0x08),  # an SME delivery ack: not a receipt, not an MO either
    ],
)
def test_an_mo_is_not_a_receipt(short_message: bytes, tlvs: dict[str, Any], esm_class: int) -> None:
    assert parse_receipt(short_message, tlvs, esm_class) is None


def test_receipt_tlvs_with_esm_class_0_make_a_receipt() -> None:
    receipt = parse_receipt(b"", {"receipted_message_id": b"1", "message_state": 5}, 0x00)
    assert receipt is not None and receipt.outcome == "failed"


tlv_values = st.one_of(
    st.none(),
    st.integers(-(2**40), 2**40),
    st.binary(max_size=70),
    st.text(max_size=70),
    st.booleans(),
    st.floats(),
)


@settings(max_examples=500, deadline=None)
@given(
    short_message=st.one_of(
        st.binary(max_size=300),
        st.lists(
            st.sampled_from(
                [
                    b"id:",
                    b"stat:",
                    b"err:",
                    b"done date:",
                    b"text:",
                    b" ",
                    b"0x1B",
                    b"DELIVRD",
                    b"2611251231",
                    b"99999999999999",
                    b"\x00",
                    b"\xff",
                    b"A",
                ]
            ),
            max_size=30,
        ).map(b"".join),
    ),
    tlvs=st.dictionaries(
        st.sampled_from(["receipted_message_id", "message_state", "network_error_code", "vendor"]),
        tlv_values,
        max_size=4,
    ),
    esm_class=st.integers(0, 255),
)
def test_any_bytes_never_raise(short_message: bytes, tlvs: dict[str, Any], esm_class: int) -> None:
    receipt = parse_receipt(short_message, tlvs, esm_class)
    if receipt is not None:
        assert receipt.final == (receipt.outcome is not None)
        assert receipt.final == (receipt.stat in FINAL_STATES)
        id_keys(receipt.message_id)


# --- matching -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("submitted", "receipted", "rank"),
    [
        ("0a1b2c3d", "0a1b2c3d", 0),
        ("00001234", "1234", 1),
        ("0A1B2C3D", "0a1b2c3d", 1),  # case
        (" abc-DEF ", "ABC-def", 1),
        ("0A1B2C3D", "169552957", 2),  # resp hex, receipt decimal
        ("169552957", "0a1b2c3d", 2),  # resp decimal, receipt hex
        ("7A3F0C", "8011532", 2),
        ("0", "000", 1),
        ("1234", "1235", None),
        ("", "", None),
        ("6f1c2a0e-1111-2222-3333-444455556666", "6f1c2a0e", None),
    ],
)
def test_submit_and_receipt_keys_intersect(
    submitted: str, receipted: str, rank: int | None
) -> None:
    common = set(id_keys(submitted)) & set(id_keys(receipted))
    assert bool(common) == (rank is not None)
    assert match_rank(submitted, receipted) == rank


def test_keys_most_certain_first() -> None:
    assert id_keys("0A1B2C3D") == ["0A1B2C3D", "a1b2c3d", "169552957"]
    assert id_keys("00001234") == ["00001234", "1234", "4660", "4d2"]
    assert id_keys("uuid-like") == ["uuid-like"]


def test_ambiguous_base_matches_rank_behind_the_exact_one() -> None:
    # Decimal counter ids "10" and "16": the receipt "16" reaches both through
    # the base conversion, but only one of them is the same id.
    assert match_rank("16", "16") == 0
    assert match_rank("10", "16") == 2


def test_long_blank_runs_parse_in_linear_time() -> None:
    # A lookahead over spaces once made "id:" + 3000 spaces take most of a second.
    started = time.perf_counter()
    for _ in range(5):
        parse_receipt((b"id: " + b" " * 3000) * 2, {}, 0x04)
    assert time.perf_counter() - started < 0.5


def test_absurdly_long_ids_are_not_converted() -> None:
    assert id_keys("1" * 5000) == ["1" * 5000]


@settings(max_examples=300, deadline=None)
@given(value=st.integers(0, 2**64), width=st.integers(0, 20), upper=st.booleans())
def test_hex_and_decimal_forms_of_one_number_always_match(
    value: int, width: int, upper: bool
) -> None:
    hex_id = format(value, f"0{width}x")
    hex_id = hex_id.upper() if upper else hex_id
    decimal_id = format(value, f"0{width}d")
    assert set(id_keys(hex_id)) & set(id_keys(decimal_id))
    assert match_rank(hex_id, decimal_id) is not None
