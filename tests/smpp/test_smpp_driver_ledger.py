"""The smpp driver's ledgers (drivers/smpp/sends.py, incoming.py), without a link:
what a message becomes from its parts and receipts, and that a restart (the
ledger read again) reports exactly the same."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simgate.device.drivers import Delivered, Failed, Sent, Undelivered
from simgate.device.drivers.smpp.incoming import (
    PART_KEEP,
    REPEAT_WINDOW,
    IncomingBook,
    StoredPart,
    digest,
    sender_of,
)
from simgate.device.drivers.smpp.sends import ORPHAN_KEEP, PartReceipt, SendBook
from simgate.smpp import receipts

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def keys(message_id: str) -> list[str]:
    """A stand-in for receipts.id_keys: exact, and without case and leading zeros."""
    return [message_id, message_id.strip().lower().lstrip("0") or "0"]


_opened: list[SendBook | IncomingBook] = []


@pytest.fixture(autouse=True)
def _close_ledgers() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().close()  # closing twice is harmless


def rank(submitted: str, receipted: str) -> int | None:
    if submitted == receipted:
        return 0
    return 1 if keys(submitted)[1] == keys(receipted)[1] else None


def book(folder: Path) -> SendBook:
    opened = SendBook(folder, keys, rank, fsync=False)
    _opened.append(opened)
    return opened


def inbox(folder: Path) -> IncomingBook:
    opened = IncomingBook(folder, fsync=False)
    _opened.append(opened)
    return opened


def delivered(at: datetime = T0) -> PartReceipt:
    return PartReceipt("delivered", "DELIVRD", "000", at)


def test_a_long_message_is_sent_then_delivered_when_every_part_is(tmp_path: Path) -> None:
    sends = book(tmp_path)
    sends.take("7.0", "+33612000001", 3, T0)
    for n, mid in enumerate(["0000000A", "0000000B", "0000000C"]):
        sends.trying("7.0", n)
        sends.accepted("7.0", n, mid, T0)
    send = sends.sends["7.0"]
    assert send.result() == Sent("7.0", T0)
    assert send.delivery() is None
    for n, mid in enumerate(["a", "b"]):  # receipts name the ids in another form
        found = sends.match(mid)
        assert found is not None and found[1] == n
        sends.receipt("7.0", n, delivered(T0 + timedelta(seconds=n)))
    assert send.delivery() is None  # one part still on its way
    sends.receipt("7.0", 2, delivered(T0 + timedelta(seconds=9)))
    assert send.delivery() == Delivered("7.0", T0 + timedelta(seconds=9))
    sends.close()

    again = book(tmp_path).sends["7.0"]
    assert again.result() == Sent("7.0", T0)
    assert again.delivery() == Delivered("7.0", T0 + timedelta(seconds=9))


def test_a_receipt_before_its_submit_sm_resp_is_matched_when_the_resp_comes(
    tmp_path: Path,
) -> None:
    sends = book(tmp_path)
    sends.take("8.0", "+33612000001", 1, T0)
    sends.trying("8.0", 0)
    assert sends.match("00FF") is None
    sends.keep_orphan("00FF", delivered(), T0)
    sends.close()

    sends = book(tmp_path)  # even across a restart
    send = sends.accepted("8.0", 0, "ff", T0)
    assert send.delivery() == Delivered("8.0", T0)
    sends.close()
    assert book(tmp_path).sends["8.0"].delivery() == Delivered("8.0", T0)


def test_an_orphan_receipt_is_forgotten_after_a_while(tmp_path: Path) -> None:
    sends = book(tmp_path)
    sends.take("9.0", "+33612000001", 1, T0)
    sends.keep_orphan("42", delivered(), T0)
    sends.prune(T0 + ORPHAN_KEEP + timedelta(seconds=1))
    send = sends.accepted("9.0", 0, "42", T0)
    assert send.delivery() is None


def test_a_failed_part_makes_the_message_undelivered_at_once(tmp_path: Path) -> None:
    sends = book(tmp_path)
    sends.take("1.0", "+33612000666", 2, T0)
    sends.accepted("1.0", 0, "1", T0)
    sends.accepted("1.0", 1, "2", T0)
    sends.receipt("1.0", 1, PartReceipt("failed", "UNDELIV", "001", T0))
    delivery = sends.sends["1.0"].delivery()
    assert isinstance(delivery, Undelivered)
    assert delivery.reason.startswith("UNDELIV (err 001) for part 2 of 2")


def test_expired_is_undelivered_with_the_word_expired(tmp_path: Path) -> None:
    sends = book(tmp_path)
    sends.take("2.0", "+33612000001", 1, T0)
    sends.accepted("2.0", 0, "1", T0)
    sends.receipt("2.0", 0, PartReceipt("expired", "EXPIRED", None, T0))
    delivery = sends.sends["2.0"].delivery()
    assert isinstance(delivery, Undelivered) and delivery.reason.startswith("EXPIRED")


def test_a_part_without_an_answer_is_never_tried_again_and_counts_as_gone(
    tmp_path: Path,
) -> None:
    sends = book(tmp_path)
    sends.take("3.0", "+33612000001", 2, T0)
    sends.trying("3.0", 0)  # on the wire when the agent stopped
    sends.close()

    sends = book(tmp_path)
    send = sends.sends["3.0"]
    assert send.parts[0].state == "lost"
    assert send.result() is None  # part 2 never went: the driver gives up on it
    sends.end("3.0", "the agent stopped after 1 of 2 parts went out", T0)
    assert isinstance(send.result(), Failed)

    sends.take("4.0", "+33612000001", 2, T0)
    sends.lost("4.0", 0, T0)
    sends.accepted("4.0", 1, "5", T0)
    send = sends.sends["4.0"]
    assert isinstance(send.result(), Sent)
    sends.receipt("4.0", 1, delivered())
    assert send.delivery() is None  # the lost part's receipt can never be matched


def test_a_refusal_says_whether_anything_went_out(tmp_path: Path) -> None:
    sends = book(tmp_path)
    sends.take("5.0", "+33612000001", 2, T0)
    sends.refused("5.0", 0, "the SMSC refused it", T0)
    assert sends.sends["5.0"].nothing_out
    sends.take("6.0", "+33612000001", 2, T0)
    sends.accepted("6.0", 0, "6", T0)
    sends.refused("6.0", 1, "part 2 refused", T0)
    send = sends.sends["6.0"]
    assert not send.nothing_out and send.result() == Failed("6.0", "part 2 refused", T0)
    assert send.delivery() is None


ANSWERS = st.sampled_from(["ok", "lost", "refused", "none"])
RECEIPTS = st.sampled_from(["delivered", "failed", "expired", None])


@settings(max_examples=60, deadline=None)
@given(
    parts=st.lists(st.tuples(ANSWERS, RECEIPTS, st.booleans()), min_size=1, max_size=5),
)
def test_any_history_reads_back_the_same_and_never_claims_too_much(
    parts: list[tuple[str, str | None, bool]],
) -> None:
    """A part "none" had no answer: the part was on the wire when the agent stopped; the re-read
    ledger takes it as lost, as the live run would have after LinkLost."""
    with tempfile.TemporaryDirectory() as folder:
        sends = book(Path(folder))
        sends.take("c", "+33612000001", len(parts), T0)
        steps = []
        for n, (answer, outcome, early) in enumerate(parts):
            sends.trying("c", n)
            mid = f"{n:04d}"
            if answer == "ok":
                if outcome and early:
                    steps.append(("orphan", n, mid, outcome))
                steps.append(("ok", n, mid, None))
                if outcome and not early:
                    steps.append(("dlr", n, mid, outcome))
                    steps.append(("dlr", n, mid, outcome))  # a repeat
            elif answer == "lost":
                steps.append(("lost", n, mid, None))
            elif answer == "refused":
                steps.append(("refused", n, mid, None))
            else:
                steps.append(("stop", n, mid, None))
        for kind, n, mid, outcome in steps:
            receipt = PartReceipt(outcome, outcome.upper(), None, T0) if outcome else None  # type: ignore[arg-type]
            if kind == "orphan" and receipt:
                sends.keep_orphan(mid, receipt, T0)
            elif kind == "ok":
                sends.accepted("c", n, mid, T0)
            elif kind == "dlr" and receipt:
                found = sends.match(mid)
                assert found is not None and found[1] == n
                if found[0].parts[n].receipt is None:
                    sends.receipt("c", n, receipt)
            elif kind == "lost":
                sends.lost("c", n, T0)
            elif kind == "refused":
                sends.refused("c", n, "refused", T0)
            elif kind == "stop":
                sends.sends["c"].parts[n].state = "lost"  # what a re-read finds
        send = sends.sends["c"]
        result, delivery = send.result(), send.delivery()
        sends.close()
        reread = book(Path(folder))
        again = reread.sends["c"]
        assert (again.result(), again.delivery()) == (result, delivery)
        reread.close()

    answers = [answer for answer, _, _ in parts]
    if "refused" in answers:
        assert isinstance(result, Failed)
    elif all(a in ("ok", "lost", "none") for a in answers):
        assert isinstance(result, Sent)
    if isinstance(delivery, Delivered):
        assert all(a == "ok" and o == "delivered" for a, o, _ in parts)
    if delivery is not None:
        assert isinstance(result, Sent)
    if isinstance(result, Sent) and any(
        a == "ok" and o in ("failed", "expired") for a, o, _ in parts
    ):
        assert isinstance(delivery, Undelivered)


# --- incoming SMS ------------------------------------------------------------------


def test_senders_are_international_for_ton_1() -> None:
    assert sender_of("33698765432", 1) == "+33698765432"
    assert sender_of("+33698765432", 1) == "+33698765432"
    assert sender_of("0698765432", 2) == "0698765432"
    assert sender_of("SimGate", 5) == "SimGate"


def test_a_redelivered_sms_keeps_its_ref_a_later_one_gets_a_new_one(tmp_path: Path) -> None:
    d = digest("+33698765432", "SimGate", 0, b"Oui")
    assert d != digest("+33698765432", "SimGate", 0, b"Non")
    incoming = inbox(tmp_path)
    first = incoming.ref_for(d, T0, "p1-1")
    incoming.seen(first, T0, "p1-1")
    incoming.close()

    incoming = inbox(tmp_path)  # read again: the sighting is kept
    now = datetime.now(UTC)
    incoming.seen(first, now, "p1-1")
    # Sent again on the next connection (its acknowledgement lost with the first): the same SMS.
    assert incoming.ref_for(d, now + REPEAT_WINDOW / 2, "p2-1") == first
    # Past the window: a new one.
    later = incoming.ref_for(d, now + REPEAT_WINDOW * 2, "p2-1")
    assert later != first and later.endswith("-1")


def test_the_same_text_twice_on_one_connection_is_two_sms(tmp_path: Path) -> None:
    """The SMSC had the first acknowledgement on that very connection: a person
    who answers "Oui" twice is heard twice."""
    d = digest("+33698765432", "SimGate", 0, b"Oui")
    incoming = inbox(tmp_path)
    first = incoming.ref_for(d, T0, "p1-1")
    incoming.seen(first, T0, "p1-1")
    second = incoming.ref_for(d, T0 + REPEAT_WINDOW / 10, "p1-1")
    assert second != first and second.endswith("-1")
    incoming.seen(second, T0 + REPEAT_WINDOW / 10, "p1-1")
    incoming.close()
    # Read back after a restart, a redelivery of the second keeps its ref.
    assert inbox(tmp_path).ref_for(d, T0 + REPEAT_WINDOW / 5, "p9-1") == second


def test_parts_of_a_long_sms_survive_a_restart_until_it_is_done(tmp_path: Path) -> None:
    incoming = inbox(tmp_path)
    now = time.time()
    part = StoredPart("a>b", 7, 2, 1, b"\x00\x01", 0, "+3361", 1, "b", now)
    incoming.keep_part(part)
    incoming.keep_part(StoredPart("a>b", 8, 2, 1, b"x", 0, "+3361", 1, "b", now))
    incoming.done("a>b", 8)
    stale = now - PART_KEEP.total_seconds() - 1  # waited past any reassembly
    incoming.keep_part(StoredPart("a>b", 9, 2, 1, b"y", 0, "+3361", 1, "b", stale))
    incoming.close()
    assert inbox(tmp_path).parts == [part]


def test_ids_in_another_base_match_only_while_the_smsc_has_not_shown_its_form(
    tmp_path: Path,
) -> None:
    real = SendBook(tmp_path / "a", receipts.id_keys, receipts.match_rank, fsync=False)
    _opened.append(real)
    real.take("h.0", "+33612000001", 1, T0)
    real.accepted("h.0", 0, "7A3F0C", T0)  # an SMPP 3.3 SMSC: hex resp, decimal receipt
    found = real.match(str(0x7A3F0C))
    assert found is not None and found[1:] == (0, 2)

    same = SendBook(tmp_path / "b", receipts.id_keys, receipts.match_rank, fsync=False)
    _opened.append(same)
    same.take("s.0", "+33612000001", 1, T0)
    same.accepted("s.0", 0, "0000001f", T0)
    match = same.match("0000001f")
    assert match is not None and match[2] == 0
    same.receipt("s.0", 0, delivered(), match[2])  # this SMSC writes ids alike
    # The receipt of a part whose resp the link lost ("0000001e") waits; a later
    # part "00000030" (decimal 30 = hex 1e) must not take it.
    same.keep_orphan("0000001e", PartReceipt("failed", "UNDELIV", "001", T0), T0)
    same.take("t.0", "+33612000002", 1, T0)
    assert same.accepted("t.0", 0, "00000030", T0).delivery() is None
    assert same.match("0000001e") is None
    same.close()
    reread = SendBook(tmp_path / "b", receipts.id_keys, receipts.match_rank, fsync=False)
    _opened.append(reread)
    assert reread.same_form


async def test_writes_waiting_together_share_one_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sends = SendBook(tmp_path, keys, rank)  # fsync on, as in production
    _opened.append(sends)
    synced: list[int] = []
    monkeypatch.setattr("simgate.device.group_sync.os.fdatasync", synced.append)
    for n in range(10):
        sends.take(f"{n}.0", "+33612000001", 1, T0)
        sends.trying(f"{n}.0", 0)
    await asyncio.gather(*(sends.durable() for _ in range(10)))
    assert len(synced) == 1
    sends.accepted("0.0", 0, "1", T0)
    await sends.durable()
    await sends.durable()  # nothing new: no fsync
    assert len(synced) == 2


@given(address=st.text(max_size=25), ton=st.integers(0, 6))
def test_any_sender_the_smsc_gives_is_kept_and_only_numbers_get_a_plus(
    address: str, ton: int
) -> None:
    sender = sender_of(address, ton)
    if sender.startswith("+") and not address.strip().startswith("+"):
        assert ton == 1 and sender[1:].isdigit()
    assert sender.lstrip("+") == address.strip().lstrip("+") or sender == address.strip()


@given(
    first=st.tuples(st.text(max_size=12), st.text(max_size=12), st.integers(0, 255),
                    st.binary(max_size=40)),
    second=st.tuples(st.text(max_size=12), st.text(max_size=12), st.integers(0, 255),
                     st.binary(max_size=40)),
)  # fmt: skip
def test_digests_are_stable_and_tell_sms_apart(
    first: tuple[str, str, int, bytes], second: tuple[str, str, int, bytes]
) -> None:
    assert digest(*first) == digest(*first)
    assert digest("a\x00", "b", 0, b"") != digest("a", "\x00b", 0, b"")
    if first != second:
        assert digest(*first) != digest(*second)


def test_a_send_no_part_of_which_was_tried_may_start_afresh(tmp_path: Path) -> None:
    sends = book(tmp_path)
    fresh = sends.take("u.0", "+33612000001", 2, T0)
    assert fresh.untouched()
    sends.trying("u.0", 0)
    assert not fresh.untouched()
    sends.not_taken("u.0", 0)  # refused for now: certainly not accepted
    assert fresh.untouched()
    sends.trying("u.0", 0)
    assert not fresh.untouched()
    refused = sends.take("v.0", "+33612000001", 1, T0)
    sends.refused("v.0", 0, "refused", T0)
    assert not refused.untouched() and refused.certainly_not_sent()
