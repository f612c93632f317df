"""Why an account's messages wait (docs/policy.md, "Quiet hours" and "Caps"):
its sending window is closed, or a cap is reached. Shown on the dashboard's
overview and policy page; the dispatcher applies the same rules
(services/dispatch_policy.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from simgate.domain import caps, windows
from simgate.domain.windows import to_local
from simgate.services.dispatch_policy import COUNTS_LOOKBACK
from simgate.store import messages as message_store
from simgate.store import policies, send_counts
from simgate.store.accounts import Account
from simgate.store.db import reading


@dataclass(frozen=True, slots=True)
class Hold:
    """One reason sending is held now."""

    kind: str  # "window", "hourly" or "daily"
    text: str  # "outside the sending window, opens Mon 08:00"
    until: datetime  # naive UTC
    waiting: bool  # messages wait for this reason now


def when(moment: datetime, account: Account, now: datetime) -> str:
    """A local time as people say it: "15:00" today, "Mon 08:00" within the
    week, "Tue 7 Apr 08:00" beyond."""
    local, today = to_local(moment, account.tz), to_local(now, account.tz)
    if local.date() == today.date():
        return f"{local:%H:%M}"
    if local - today < timedelta(days=6):
        return f"{local:%a %H:%M}"
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def holds(engine: Engine, account: Account, now: datetime) -> list[Hold]:
    """What holds the account's sending at `now` (naive UTC), if anything;
    each says whether messages wait for it."""
    found: list[Hold] = []
    with reading(engine) as conn:
        policy = policies.get(conn, account.id)
        if policy.windows:
            country = account.region if policy.skip_holidays else None
            opening = windows.next_opening(policy.windows, country, account.tz, now)
            if opening > now:
                waiting = message_store.waits(conn, account.id, "scheduled", windowed=True)
                text = f"outside the sending window, opens {when(opening, account, now)}"
                found.append(Hold("window", text, opening, waiting))
        if policy.hourly_cap or policy.daily_cap:
            counts = send_counts.since(conn, [account.id], caps.hour_of(now) - COUNTS_LOOKBACK)
            used = caps.usage(counts[account.id], now, account.tz)
            cap = caps.reached(policy.hourly_cap, policy.daily_cap, used, now, account.tz)
            if cap is not None:
                waiting = message_store.waits(conn, account.id, "queued")
                text = (
                    f"{cap.which} cap reached: {cap.used} of {cap.cap}, "
                    f"resumes at {when(cap.resumes_at, account, now)}"
                )
                found.append(Hold(cap.which, text, cap.resumes_at, waiting))
    return found
