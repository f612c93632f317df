"""command_status classes, SMPP time strings, and TON/NPI addresses (smpp.md §2, §8, §13)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simgate.smpp import status, times
from simgate.smpp.addresses import Address, destination, source

# --- status -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (0x00, "ok"),
        (0x58, "throttled"),
        (0x14, "temporary"),
        (0x08, "temporary"),
        (0x64, "temporary"),
        (0xFF, "temporary"),
        (0x04, "temporary"),
        (0x400, "temporary"),
        (0x42A, "temporary"),
        (0x4FF, "temporary"),
        (0x01, "permanent"),
        (0x0A, "permanent"),
        (0x0B, "permanent"),
        (0x43, "permanent"),
        (0x48, "permanent"),
        (0x49, "permanent"),
        (0x50, "permanent"),
        (0x51, "permanent"),
        (0x61, "permanent"),
        (0x62, "permanent"),
        (0x65, "permanent"),
        (0x66, "permanent"),
        (0xC0, "permanent"),
        (0xC4, "permanent"),
        (0x45, "permanent"),
        (0x500, "permanent"),
    ],
)
def test_classify_follows_the_retry_table(code: int, kind: str) -> None:
    assert status.classify(code) == kind


def test_names_and_descriptions() -> None:
    assert status.name(0x58) == "ESME_RTHROTTLED"
    assert status.name(0x42A) == "0x0000042A"
    assert status.describe(0x0B) == "ESME_RINVDSTADR (0x0000000B): invalid destination address"
    assert status.describe(0x42A) == "0x0000042A: vendor-specific error"
    assert status.describe(0x99) == "0x00000099: unassigned status"


def test_every_status_of_the_appendix_has_a_name() -> None:
    appendix = [
        0x00,
        0x01,
        0x02,
        0x03,
        0x04,
        0x05,
        0x08,
        0x0A,
        0x0B,
        0x0C,
        0x0D,
        0x0E,
        0x0F,
        0x14,
        0x15,
        0x43,
        0x45,
        0x48,
        0x49,
        0x50,
        0x51,
        0x53,
        0x58,
        0x61,
        0x62,
        0x64,
        0x65,
        0x66,
        0xC0,
        0xC1,
        0xC2,
        0xC3,
        0xC4,
        0xFE,
        0xFF,
    ]
    for code in appendix:
        assert status.name(code).startswith("ESME_R")


@settings(max_examples=200, deadline=None)
@given(code=st.integers(0, 2**32 - 1))
def test_any_status_has_a_name_a_reason_and_a_class(code: int) -> None:
    assert status.name(code)
    assert f"0x{code:08X}" in status.describe(code)
    assert status.classify(code) in ("ok", "throttled", "temporary", "permanent")


# --- times --------------------------------------------------------------------------------


def test_absolute_of_the_reference() -> None:
    assert times.absolute(datetime(2026, 11, 25, 22, 30, tzinfo=UTC)) == "261125223000000+"
    # Naive is UTC; an aware time in another zone is converted, never sent as local.
    assert times.absolute(datetime(2026, 11, 25, 22, 30)) == "261125223000000+"
    paris = timezone(timedelta(hours=1))
    assert times.absolute(datetime(2026, 11, 25, 23, 30, 0, 950_000, tzinfo=paris)) == (
        "261125223000000+"
    )


def test_absolute_refuses_years_two_digits_cannot_say() -> None:
    with pytest.raises(ValueError):
        times.absolute(datetime(2100, 1, 1))
    with pytest.raises(ValueError):
        times.absolute(datetime(1999, 12, 31, 23, 59))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "000000000001000R"),
        (15 * 60, "000000001500000R"),
        (3600, "000000010000000R"),
        (86400, "000001000000000R"),
        (48 * 3600 + 61, "000002000101000R"),
        (30 * 86400 + 3599, "000030005959000R"),
        (31 * 86400, "000101000000000R"),
        (365 * 86400, "010000000000000R"),
        (364 * 86400 + 5, "010000000000000R"),  # the 12th month rounds up to a year
        (99 * 365 * 86400, "990000000000000R"),
    ],
)
def test_relative(seconds: int, text: str) -> None:
    assert times.relative(seconds) == text


@pytest.mark.parametrize("seconds", [0, -1, 99 * 365 * 86400 + 1])
def test_relative_out_of_range(seconds: int) -> None:
    with pytest.raises(ValueError):
        times.relative(seconds)


def test_validity_period() -> None:
    now = datetime(2026, 11, 25, 21, 30, tzinfo=UTC)
    until = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)
    assert times.validity_period(until, now, mode="absolute") == "261125223000000+"
    assert times.validity_period(until, now, mode="relative") == "000000010000000R"
    assert times.validity_period(until, now, mode="none") == ""
    assert times.validity_period(None, now, mode="absolute") == ""
    # Rounded up to whole seconds; at least one second even when already past.
    almost = until - timedelta(microseconds=1)
    assert times.validity_period(almost, now, mode="relative") == "000000010000000R"
    assert times.validity_period(now - timedelta(hours=1), now, mode="relative") == (
        "000000000001000R"
    )
    # Naive is UTC, mixed with aware.
    assert times.validity_period(until.replace(tzinfo=None), now, mode="relative") == (
        "000000010000000R"
    )
    # Beyond 99 years the period is capped, not refused.
    far = now + timedelta(days=200 * 365)
    assert times.validity_period(far, now, mode="relative") == "990000000000000R"


@settings(max_examples=300, deadline=None)
@given(seconds=st.integers(1, 99 * 365 * 86400))
def test_relative_is_16_chars_never_shorter_than_asked(seconds: int) -> None:
    text = times.relative(seconds)
    assert len(text) == 16 and text.endswith("000R") and text[:12].isdigit()
    yy, mo, dd, hh, mi, ss = (int(text[i : i + 2]) for i in range(0, 12, 2))
    assert mo < 12 and hh < 24 and mi < 60 and ss < 60 and dd <= 30
    told = ((yy * 365 + mo * 30 + dd) * 24 + hh) * 3600 + mi * 60 + ss
    assert told >= seconds
    if seconds <= 30 * 86400:
        assert told == seconds


@settings(max_examples=200, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30)),
    offset=st.integers(-48, 48),
)
def test_absolute_is_16_chars_of_the_same_instant(moment: datetime, offset: int) -> None:
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=15 * offset)))
    text = times.absolute(aware)
    assert len(text) == 16 and text.endswith("000+")
    yy, mo, dd, hh, mi, ss = (int(text[i : i + 2]) for i in range(0, 12, 2))
    back = datetime(2000 + yy, mo, dd, hh, mi, ss, tzinfo=UTC)
    assert back == aware.replace(microsecond=0)


# --- addresses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("+491701234567", Address(1, 1, "491701234567")),
        ("491701234567", Address(1, 1, "491701234567")),
        ("00491701234567", Address(1, 1, "491701234567")),
        (" +491701234567 ", Address(1, 1, "491701234567")),
        ("01701234567", Address(2, 1, "01701234567")),
        ("12345", Address(3, 0, "12345")),
        ("123", Address(3, 0, "123")),
        ("12345678", Address(3, 0, "12345678")),
        ("SimGate", Address(5, 0, "SimGate")),
        ("Info 24", Address(5, 0, "Info 24")),
        ("ABCDEFGHIJK", Address(5, 0, "ABCDEFGHIJK")),
        ("+Shop", Address(5, 0, "+Shop")),
    ],
)
def test_source_guesses_ton_npi(value: str, address: Address) -> None:
    assert source(value) == address


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "ABCDEFGHIJKL",
        "Sim{Gate}",
        "Caf\u00e9\u00e7",
        "Tab\tGate",
        "12",
        "1234567890123456",
        "+123456",
        "+1234567890123456",
        "Sim`Gate",
    ],
)
def test_source_refuses(value: str) -> None:
    with pytest.raises(ValueError):
        source(value)


def test_explicit_ton_npi_override_the_guess() -> None:
    assert source("12345", ton=6, npi=0) == Address(6, 0, "12345")
    assert source("12345", ton=0, npi=1) == Address(0, 1, "12345")
    assert source("+491701234567", ton=0, npi=0) == Address(0, 0, "491701234567")
    assert source("SimGate", npi=9) == Address(5, 9, "SimGate")
    # Both given: a form the guess refuses goes as written, within SMPP's limits.
    assert source("12", ton=0, npi=0) == Address(0, 0, "12")
    assert source("A-Very-Long-Name", ton=5, npi=0) == Address(5, 0, "A-Very-Long-Name")
    with pytest.raises(ValueError):
        source("x" * 21, ton=5, npi=0)
    with pytest.raises(ValueError):
        source("12", ton=0)  # one override is not enough to skip the checks
    with pytest.raises(ValueError, match="'\\+'"):
        source("+", ton=0)  # a name of one "+", sent as a number
    with pytest.raises(ValueError, match="'\\+'"):
        source("+1+2345678901234567", ton=0, npi=1)


@pytest.mark.parametrize(
    ("e164", "address"),
    [
        ("+491701234567", Address(1, 1, "491701234567")),
        ("491701234567", Address(1, 1, "491701234567")),
        ("+" + "1" * 20, Address(1, 1, "1" * 20)),
    ],
)
def test_destination(e164: str, address: Address) -> None:
    assert destination(e164) == address


@pytest.mark.parametrize(
    "e164", ["", "+", "+49 170 1234567", "+49-170", "1" * 21, "++49", "\u0664\u0669"]
)
def test_destination_refuses(e164: str) -> None:
    with pytest.raises(ValueError):
        destination(e164)


@settings(max_examples=300, deadline=None)
@given(
    value=st.text(max_size=25),
    ton=st.none() | st.integers(0, 6),
    npi=st.none() | st.integers(0, 18),
)
def test_addresses_are_an_address_or_a_value_error(
    value: str, ton: int | None, npi: int | None
) -> None:
    for make in (lambda: source(value, ton=ton, npi=npi), lambda: destination(value)):
        try:
            address = make()
        except ValueError:
            continue
        assert 0 < len(address.addr) <= 20 and address.addr.isascii()
        assert "+" not in address.addr or address.ton == 5
