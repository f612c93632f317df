"""The gammu driver's pure parts: what a stored message says (inbox.py) and
how delivery reports find their SMS in the sent box (sends.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("gammu", reason="python-gammu is not installed: pip install 'simgate[gammu]'")

from simgate.device.drivers import Delivered, Undelivered  # noqa: E402
from simgate.device.drivers.gammu import inbox  # noqa: E402
from simgate.device.drivers.gammu.sends import SendBook  # noqa: E402

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "text", "outcome"),
    [(0x00, "", "delivered"), (0x02, "", "delivered"), (0x20, "", "pending"),
     (0x3F, "", "pending"), (0x41, "", "failed"), (0x60, "", "failed"),
     (None, "Delivered", "delivered"), (None, "Failed", "failed"), (None, "Unknown", "pending")],
)
def test_tp_status_says_delivered_pending_or_failed(
    status: int | None, text: str, outcome: str
) -> None:
    assert inbox.outcome(status, text) == outcome


def test_the_same_number_written_two_ways() -> None:
    assert inbox.same_number("+33612345678", "0612345678")
    assert inbox.same_number("+15551234567", "+15551234567")
    assert not inbox.same_number("+33612345678", "+33612345679")
    assert inbox.same_number("Google", "Google") and not inbox.same_number("Google", "Bank")


def test_junk_after_a_gsm_text_is_cut_at_its_length() -> None:
    # The reference's addendum: extension characters count two septets.
    gsm = {"Text": "Salut [x]\x00\x00", "Length": 11, "Coding": "Default_No_Compression"}
    assert inbox.part_text(gsm) == "Salut [x]"
    ucs2 = {"Text": "Zoë 😀\x00", "Length": 6, "Coding": "Unicode_No_Compression"}
    assert inbox.part_text(ucs2) == "Zoë 😀"
    assert inbox.part_text({"Text": b"\x01\x02", "Length": 2, "Coding": "8bit"}) == "0102"


def report(reference: int, to: str, outcome: str = "delivered", at: datetime = T0,
           status: int | None = 0) -> inbox.StatusReport:
    return inbox.StatusReport(reference, to, outcome, status, at, location=1)


def test_reports_find_the_latest_part_with_their_reference_and_number(tmp_path: Path) -> None:
    book = SendBook(tmp_path, fsync=False)
    book.take("1.0", "+33612345678", 1, T0)
    book.part_sent("1.0", 7, T0)
    book.sent("1.0", T0)
    book.take("2.0", "+33612345678", 2, T0)  # a later send reused reference 7 (wrapped)
    book.part_sent("2.0", 7, T0 + timedelta(minutes=1))
    book.part_sent("2.0", 8, T0 + timedelta(minutes=1))
    book.sent("2.0", T0 + timedelta(minutes=1))

    assert book.match(report(7, "+33699999999")) is None  # another recipient
    found = book.match(report(7, "0612345678"))
    assert found is not None and found[0].command_id == "2.0" and found[1] == 0
    book.record_report(found[0], 0, report(7, "0612345678"))
    assert book.sends["2.0"].delivery() is None  # one part of two

    found = book.match(report(7, "+33612345678"))  # now the older SMS is the one
    assert found is not None and found[0].command_id == "1.0"
    book.record_report(found[0], 0, report(7, "+33612345678", at=T0 + timedelta(seconds=5)))
    assert book.sends["1.0"].delivery() == Delivered("1.0", T0 + timedelta(seconds=5))

    late = T0 + timedelta(days=8)  # references wrap: an old part is no candidate
    assert book.match(report(8, "+33612345678", at=late)) is None
    found = book.match(report(8, "+33612345678", "failed", status=0x41))
    assert found is not None
    book.record_report(found[0], found[1], report(8, "+33612345678", "failed", status=0x41))
    delivery = book.sends["2.0"].delivery()
    assert isinstance(delivery, Undelivered) and "0x41" in delivery.reason
    book.close()

    again = SendBook(tmp_path, fsync=False)  # replayed from disk, as after a restart
    assert again.sends["1.0"].delivery() == Delivered("1.0", T0 + timedelta(seconds=5))
    assert isinstance(again.sends["2.0"].delivery(), Undelivered)
    again.close()


def test_released_and_refused_sends_replay(tmp_path: Path) -> None:
    book = SendBook(tmp_path, fsync=False)
    book.take("1.0", "+1555", 1, T0)
    book.release("1.0")  # certainly not sent: it may be sent when asked again
    book.refused("2.0", "+1555", "the modem refused it", T0)
    book.close()
    with open(tmp_path / "gammu-sends.jsonl", "a") as torn:
        torn.write('{"k": "take", "id": "3.0", "to"')  # a crash mid-line
    again = SendBook(tmp_path, fsync=False)
    assert again.get("1.0") is None and again.get("3.0") is None
    refused = again.get("2.0")
    assert refused is not None and refused.refused == "the modem refused it"
    again.close()
