"""Dates on the wire: `date_to_send` in, ISO 8601 and local text out."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from simgate.domain.dates import InvalidDate, iso_z, local_text, parse_send_date

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("raw", "tz", "utc"),
    [
        # The reference's format, read in the account's time zone.
        ("2026-04-01 10:16:10", PARIS, datetime(2026, 4, 1, 8, 16, 10)),  # CEST, +02
        ("2026-01-15 10:16:10", PARIS, datetime(2026, 1, 15, 9, 16, 10)),  # CET, +01
        ("2026-04-01 10:16:10", NEW_YORK, datetime(2026, 4, 1, 14, 16, 10)),
        ("2026-04-01 10:16", PARIS, datetime(2026, 4, 1, 8, 16)),
        # What insim-cli sends: ISO 8601 without offset, microseconds: local too.
        ("2026-04-01T10:16:10.123456", PARIS, datetime(2026, 4, 1, 8, 16, 10, 123456)),
        ("2026-04-01T10:16:10", PARIS, datetime(2026, 4, 1, 8, 16, 10)),
        # ISO 8601 with an offset or Z is taken as it says.
        ("2026-04-01T10:16:10Z", PARIS, datetime(2026, 4, 1, 10, 16, 10)),
        ("2026-04-01T10:16:10.541z", PARIS, datetime(2026, 4, 1, 10, 16, 10, 541000)),
        ("2026-04-01T10:16:10+05:30", PARIS, datetime(2026, 4, 1, 4, 46, 10)),
        ("2026-04-01T10:16:10-04:00", PARIS, datetime(2026, 4, 1, 14, 16, 10)),
        ("  2026-04-01 10:16:10  ", PARIS, datetime(2026, 4, 1, 8, 16, 10)),
    ],
)
def test_parse_send_date(raw: str, tz: ZoneInfo, utc: datetime) -> None:
    assert parse_send_date(raw, tz) == utc


def test_empty_means_now() -> None:
    assert parse_send_date("", PARIS) is None
    assert parse_send_date("   ", PARIS) is None


@pytest.mark.parametrize(
    "raw",
    [
        "tomorrow",
        "2026-13-01 10:00:00",
        "2026-02-30 10:00:00",
        "2026-04-01 25:00:00",
        "01/04/2026 10:00",
        "2026-04-01T10:16:10+99:00",
        "10:16:10",
    ],
)
def test_bad_dates_raise(raw: str) -> None:
    with pytest.raises(InvalidDate):
        parse_send_date(raw, PARIS)


def test_iso_z_has_milliseconds_and_z() -> None:
    assert iso_z(datetime(2025, 10, 29, 10, 16, 10, 541999)) == "2025-10-29T10:16:10.541Z"
    assert iso_z(datetime(2025, 10, 29, 10, 16, 10)) == "2025-10-29T10:16:10.000Z"


def test_local_text_in_account_time_zone() -> None:
    assert local_text(datetime(2023, 12, 17, 19, 32, 51), PARIS) == "2023-12-17 20:32:51"
    assert local_text(datetime(2023, 7, 17, 18, 32, 51), PARIS) == "2023-07-17 20:32:51"


def test_round_trip_local() -> None:
    moment = parse_send_date("2026-10-25 01:30:00", PARIS)
    assert moment is not None
    assert local_text(moment, PARIS) == "2026-10-25 01:30:00"
