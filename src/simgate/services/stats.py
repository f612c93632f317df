"""An account's figures over a time range (v2 stats/overview) and its latest
link clicks (stats/clicks). Reads only: the figures come from the hourly
rollups (store/rollups.py, store/activity.py), whatever the range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from simgate.domain.activity import CLICKS, PREVIEWS, RECEIVED, by_kind
from simgate.domain.call_log import CALL_TYPES, CallType, call_type
from simgate.domain.states import UNSETTLED
from simgate.store import activity
from simgate.store import stats as store
from simgate.store.db import reading
from simgate.store.stats import ClickRow


@dataclass(frozen=True, slots=True)
class Overview:
    sms_total: int  # accepted for sending in the range
    sms_sent: int  # handed to the network: sent or delivered
    sms_delivered: int
    sms_failed: int
    sms_pending: int
    sms_received: int
    calls: dict[CallType, int]
    calls_qualified: int
    clicks: int  # by people
    preview_clicks: int
    contacts: int  # live contacts now (no range)


def overview(
    engine: Engine, account_id: int, since: datetime | None, until: datetime | None
) -> Overview:
    with reading(engine) as conn:
        states = store.sent_by_state(conn, account_id, since, until)
        counts = activity.tally(conn, account_id, since, until)
        contacts = activity.live_contacts(conn, account_id)
    kinds = by_kind(counts)
    by_type: dict[CallType, int] = dict.fromkeys(CALL_TYPES, 0)
    for count in kinds:
        by_type[call_type(count.kind)] += count.calls
    return Overview(
        sms_total=sum(states.values()),
        sms_sent=states.get("sent", 0) + states.get("received", 0),
        sms_delivered=states.get("received", 0),
        sms_failed=states.get("failed", 0) + states.get("expired", 0),
        sms_pending=sum(states.get(state, 0) for state in UNSETTLED),
        sms_received=counts[RECEIVED],
        calls=by_type,
        calls_qualified=sum(count.qualified for count in kinds),
        clicks=counts[CLICKS],
        preview_clicks=counts[PREVIEWS],
        contacts=contacts,
    )


@dataclass(frozen=True, slots=True)
class ClickPage:
    rows: list[ClickRow]
    has_more: bool


def latest_clicks(
    engine: Engine,
    account_id: int,
    limit: int,
    previews: bool = False,
    bound: tuple[datetime, int] | None = None,
) -> ClickPage:
    with reading(engine) as conn:
        rows = store.latest_clicks(conn, account_id, limit + 1, previews, bound)
    return ClickPage(rows[:limit], len(rows) > limit)
