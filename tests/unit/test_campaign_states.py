"""Campaign counts and the status answers show (domain/campaigns.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from simgate.domain import campaigns
from simgate.domain.campaigns import Counts, counts_of, shown_status
from simgate.domain.states import MESSAGE_STATES


def test_counts_by_state() -> None:
    counts = counts_of(
        {"scheduled": 1, "queued": 2, "dispatched": 3, "sent": 4, "received": 5, "failed": 6}, 7
    )
    assert counts == Counts(sent=9, delivered=5, failed=6, pending=6, clicks=7)


def test_a_sending_campaign_with_nothing_pending_is_completed() -> None:
    assert shown_status(campaigns.SENDING, Counts(sent=3)) == campaigns.COMPLETED
    assert shown_status(campaigns.SENDING, Counts(pending=1)) == campaigns.SENDING
    for other in (campaigns.READY, campaigns.NO_RECIPIENTS, campaigns.CANCELLED):
        assert shown_status(other, Counts()) == other
    assert campaigns.label(campaigns.COMPLETED) == "completed" and campaigns.label(9) == "unknown"


@given(st.dictionaries(st.sampled_from(MESSAGE_STATES), st.integers(0, 10**6)))
def test_every_message_is_counted_once(by_state: dict[str, int]) -> None:
    counts = counts_of(by_state)
    assert counts.sent + counts.failed + counts.pending == sum(by_state.values())
    assert counts.delivered <= counts.sent


def test_a_campaigns_checked_numbers_are_not_parsed_again() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from simgate.domain.messages import Draft, Rejected, judge

    item = {"phone_number": "+19999999999", "message": "hi"}  # E.164-shaped, not a real number
    args = ("FR", ZoneInfo("Europe/Paris"), "http://x", datetime(2026, 1, 1))
    assert isinstance(judge(item, *args), Rejected)
    trusted = judge(item, *args, trusted_numbers=True)
    assert isinstance(trusted, Draft) and trusted.phone_number == "+19999999999"
    # Anything not in E.164 is still read and checked.
    assert isinstance(
        judge({**item, "phone_number": "0612"}, *args, trusted_numbers=True), Rejected
    )
