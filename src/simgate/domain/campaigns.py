"""Campaign states and counts, without I/O (DESIGN section 9).

The status is stored as 0 ready, 1 sending, 2 no recipients, 4 cancelled; 3
completed is noticed on read: a campaign that was started and has no message
left on its way to a phone is complete (services/campaigns stores it then,
with the time its last message settled).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from simgate.domain.states import UNSETTLED

READY, SENDING, NO_RECIPIENTS, COMPLETED, CANCELLED = 0, 1, 2, 3, 4
LABELS = {
    READY: "ready",
    SENDING: "sending",
    NO_RECIPIENTS: "no recipients",
    COMPLETED: "completed",
    CANCELLED: "cancelled",
}
STARTABLE = (READY,)
# A sibling client says 0 or 2 can be cancelled; a sending one can be too
# (what no phone holds yet is stopped).
CANCELLABLE = (READY, SENDING, NO_RECIPIENTS)


@dataclass(frozen=True, slots=True)
class Counts:
    """What became of a campaign's messages."""

    sent: int = 0  # sent or delivered
    delivered: int = 0
    failed: int = 0  # failed or expired
    pending: int = 0  # scheduled, queued or with a phone
    clicks: int = 0
    opted_out: int = 0  # recipients skipped: on the opt-out list when it started


def counts_of(by_state: Mapping[str, int], clicks: int = 0, opted_out: int = 0) -> Counts:
    """Counts from the number of messages in each state."""
    return Counts(
        sent=by_state.get("sent", 0) + by_state.get("received", 0),
        delivered=by_state.get("received", 0),
        failed=by_state.get("failed", 0) + by_state.get("expired", 0),
        pending=sum(by_state.get(state, 0) for state in UNSETTLED),
        clicks=clicks,
        opted_out=opted_out,
    )


def shown_status(stored: int, counts: Counts) -> int:
    """The status answers give: a sending campaign with nothing pending is complete."""
    return COMPLETED if stored == SENDING and counts.pending == 0 else stored


def label(status: int) -> str:
    return LABELS.get(status, "unknown")
