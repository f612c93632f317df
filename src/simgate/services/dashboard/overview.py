"""The overview page: today's and this week's messages, the last 24 hours, the
backlog and the phones online."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.services.accounts import Account
from simgate.services.devices import seen_after
from simgate.store.dashboard import overview as store
from simgate.store.db import reading

WAITING_CAP = 9999


def local_midnight(now: datetime, tz: ZoneInfo) -> datetime:
    """The start of `now`'s day in `tz`, as naive UTC."""
    local = now.replace(tzinfo=UTC).astimezone(tz)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class Counts:
    sent: int  # reached the network: sent, delivered, or failed after sending
    delivered: int
    failed: int

    @property
    def rate(self) -> float | None:
        """Share of the sent messages that were delivered."""
        return self.delivered / self.sent if self.sent else None


@dataclass(frozen=True, slots=True)
class Overview:
    today: Counts
    week: Counts
    waiting: int  # scheduled, queued or dispatched now; WAITING_CAP + 1 means "more"
    phones_online: int
    phones: int
    hours: list[tuple[datetime, int, int]] = field(default_factory=list)  # (UTC hour, sent, dlr)


def overview(
    engine: Engine, account: Account, now: datetime | None = None, clock: Clock = SYSTEM_CLOCK
) -> Overview:
    """Counts are of the messages accepted in each period (up to `now`, by
    default the clock's), by what became of them."""
    now = now or clock.now()
    today = local_midnight(now, account.tz)
    local_today = now.replace(tzinfo=UTC).astimezone(account.tz)
    week = local_midnight(now - timedelta(days=local_today.weekday()), account.tz)
    first_hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
    with reading(engine) as conn:
        of_today, of_week = store.accepted(conn, account.id, today, week)
        per_hour = store.per_hour(conn, account.id, first_hour)
        waiting = store.waiting(conn, account.id, WAITING_CAP)
        # Phones are online by the clock, whatever `now` the figures are for.
        online, total = store.phones(conn, account.id, seen_after(clock.now()))
    hours = []
    for i in range(24):
        moment = first_hour + timedelta(hours=i)
        counts = per_hour.get(moment.strftime("%Y-%m-%d %H:00:00"), (0, 0))
        hours.append((moment, *counts))
    return Overview(
        today=Counts(*of_today),
        week=Counts(*of_week),
        waiting=waiting,
        phones_online=online,
        phones=total,
        hours=hours,
    )
