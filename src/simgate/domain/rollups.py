"""Reading the message rollups, without I/O: which part of a time range the
hourly rollups answer and which edges are counted from the messages, and the
figures the overview and v2 stats show, from counts by (state, reached).

The rollups count the messages accepted (created_at) in each UTC hour by
state and by how far they got: NOT_SENT, SENT (sent_at set) or DELIVERED
(delivered_at set), whatever their state became later (docs/dashboard.md,
"How the counts are kept").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

NOT_SENT, SENT, DELIVERED = 0, 1, 2
HOUR = timedelta(hours=1)
FAILED_STATES = ("failed", "expired")
# campaign_counts holds, beside each campaign's states, its clicks by people
# under this key (kept by triggers on link_clicks; never a message state).
CAMPAIGN_CLICKS = "+clicks"
# And its recipients under this one (kept by triggers on campaign_recipients).
CAMPAIGN_RECIPIENTS = "+recipients"

# (state, reached) → how many messages.
Tally = Mapping[tuple[str, int], int]
Range = tuple[datetime | None, datetime | None]  # [since, until); None: unbounded


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime) -> datetime:
    start = floor_hour(moment)
    return start if start == moment else start + HOUR


@dataclass(frozen=True, slots=True)
class Split:
    """A range cut into whole hours, read from the rollups, and edges counted
    from the messages: at most two, each shorter than an hour, or one shorter
    than two hours when the range holds no whole hour."""

    whole: Range | None
    edges: tuple[Range, ...]


def split(since: datetime | None, until: datetime | None) -> Split:
    if since is not None and until is not None and since >= until:
        return Split(None, ())
    first = None if since is None else ceil_hour(since)
    end = None if until is None else floor_hour(until)
    if first is not None and end is not None and first >= end:
        return Split(None, ((since, until),))
    edges: list[Range] = []
    if since is not None and first is not None and since < first:
        edges.append((since, first))
    if until is not None and end is not None and end < until:
        edges.append((end, until))
    return Split((first, end), tuple(edges))


@dataclass(frozen=True, slots=True)
class Outcome:
    """The overview's reading of the messages accepted in a period."""

    sent: int  # reached the network: sent or delivered, even if it failed later
    delivered: int
    failed: int  # failed or expired


def outcome(tally: Tally) -> Outcome:
    sent = delivered = failed = 0
    for (state, reached), n in tally.items():
        if reached >= SENT:
            sent += n
        if reached == DELIVERED:
            delivered += n
        if state in FAILED_STATES:
            failed += n
    return Outcome(sent, delivered, failed)


def by_state(tally: Tally) -> dict[str, int]:
    """State → how many, leaving out states with none."""
    states: dict[str, int] = {}
    for (state, _), n in tally.items():
        states[state] = states.get(state, 0) + n
    return {state: n for state, n in states.items() if n}
