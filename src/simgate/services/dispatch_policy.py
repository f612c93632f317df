"""The sending policy in the dispatcher's claim (docs/policy.md, "Quiet hours"
and "Caps"): windowed messages wait while the window is closed, and a claim
takes no more first hand-overs than the caps leave.

Acceptance already gives a windowed message the window's next opening as send
date (services/sending_policy.py); this holds the ones queued while the window
was open and not handed over before it closed. Called from
services/dispatch.claim in its transaction: one policy read for every account
of a tick (`gates`), then per account one UPDATE when its window is closed
(`hold`), the caps applied to the due rows (`admit`, no I/O), and one upsert
counting the first hand-overs of what was handed out (`count`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from simgate.domain import caps, windows
from simgate.domain.policy import AccountPolicy
from simgate.store import accounts, policies, send_counts
from simgate.store import messages as store

T = TypeVar("T", bound=Any)

# The counts a day needs: the local day started at most 26 hours ago (UTC+14).
COUNTS_LOOKBACK = timedelta(hours=27)


@dataclass(frozen=True, slots=True)
class Gate:
    """What the policy allows one account's claim now."""

    account_id: int
    opening: datetime | None  # the window is closed: windowed messages wait until then
    left: int | None  # first hand-overs the caps still allow; None: no cap


def gates(conn: Connection, account_ids: Iterable[int], now: datetime) -> dict[int, Gate]:
    """Account id → its gate now: one policy read for all, then the zones and
    counts of the accounts that have windows or caps."""
    found = policies.get_many(conn, account_ids)
    ruled = [a for a, p in found.items() if p.windows or p.hourly_cap or p.daily_cap]
    zones = accounts.by_ids(conn, ruled)
    capped = [a for a in ruled if found[a].hourly_cap or found[a].daily_cap]
    counts = send_counts.since(conn, capped, caps.hour_of(now) - COUNTS_LOOKBACK)
    gated: dict[int, Gate] = {}
    for account_id, policy in found.items():
        account = zones.get(account_id)
        if account is None:
            gated[account_id] = Gate(account_id, None, None)
            continue
        gated[account_id] = Gate(
            account_id,
            _closed_until(policy, account.region, account.tz, now),
            _left(policy, counts.get(account_id, {}), account.tz, now),
        )
    return gated


def _closed_until(
    policy: AccountPolicy, region: str, tz: ZoneInfo, now: datetime
) -> datetime | None:
    if not policy.windows:
        return None
    country = region if policy.skip_holidays else None
    opening = windows.next_opening(policy.windows, country, tz, now)
    return opening if opening > now else None


def _left(
    policy: AccountPolicy, counts: dict[datetime, int], tz: ZoneInfo, now: datetime
) -> int | None:
    if not (policy.hourly_cap or policy.daily_cap):
        return None
    return caps.room(policy.hourly_cap, policy.daily_cap, caps.usage(counts, now, tz))


def hold(conn: Connection, gate: Gate, now: datetime) -> None:
    """While the window is closed, the account's queued windowed messages wait
    in `scheduled` for its opening, so that the claim takes only the others."""
    if gate.opening is not None:
        store.hold_windowed(conn, gate.account_id, now, gate.opening)


def admit(gate: Gate, rows: list[T]) -> list[T]:
    """`rows` (due messages, in sending order) within the caps: no more first
    hand-overs (`first`) than the caps leave; hand-overs again always pass."""
    if gate.left is None or not rows:
        return rows
    kept, _ = caps.admit(rows, [r.first for r in rows], gate.left)
    return kept


def count(conn: Connection, account_id: int, handed: list[T], now: datetime) -> None:
    """Count the first hand-overs among `handed` (the rows just given to
    phones) for this UTC hour: one upsert, none when there are none."""
    first = sum(1 for r in handed if r.first)
    if first:
        send_counts.add(conn, account_id, caps.hour_of(now), first)
