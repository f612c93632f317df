"""The Messages page and each message's page: filters, timeline, clicks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from simgate.domain.number_search import number_search
from simgate.errors import NotFound
from simgate.store import messages as message_store
from simgate.store.dashboard import messages as store
from simgate.store.dashboard.common import Page
from simgate.store.dashboard.messages import ClickRow, MessageRow
from simgate.store.db import reading

MAX_CLICKS = 200  # shown on a message's page


@dataclass(frozen=True, slots=True)
class MessageFilter:
    number: str = ""
    state: str = ""
    since: datetime | None = None  # naive UTC, inclusive
    until: datetime | None = None  # naive UTC, exclusive


def list_messages(
    engine: Engine, account_id: int, filt: MessageFilter, link: str = "", region: str | None = None
) -> Page:
    """The page of messages `link` points at ("" for the first); a number is
    read in `region` (the account's country) when it has no international prefix."""
    with reading(engine) as conn:
        return store.page_of_messages(
            conn,
            account_id,
            link,
            number_search(filt.number, region),
            filt.state,
            filt.since,
            filt.until,
        )


@dataclass(frozen=True, slots=True)
class MessageDetail:
    message: MessageRow
    timeline: list[tuple[datetime, str, str]]  # (when, state, detail)
    clicks: list[ClickRow]

    @property
    def final(self) -> bool:
        return self.message.state in ("received", "failed", "expired")


# The time columns that tell a message's life cycle, and the state each marks.
_MILESTONES = (
    ("dispatched_at", "dispatched"),
    ("sent_at", "sent"),
    ("delivered_at", "received"),
    ("failed_at", "failed"),
)


def message_detail(engine: Engine, account_id: int, message_id: int) -> MessageDetail:
    with reading(engine) as conn:
        row = store.message(conn, account_id, message_id)
        if row is None:
            raise NotFound(f"no message {message_id}")
        events = store.events(conn, message_id)
        clicks = store.clicks(conn, message_id, MAX_CLICKS)
    # The time columns always tell the life cycle; events add retries and details.
    timeline = [(row.created_at, "created", "scheduled" if row.send_at > row.created_at else "")]
    for column, state in _MILESTONES:
        moment = getattr(row, column)
        if moment is not None:
            if state == "failed" and row.state == "expired":
                state = "expired"  # failed_at is also when it expired
            detail = row.fail_reason or "" if state in ("failed", "expired") else ""
            timeline.append((moment, state, detail))
    seen = {(state, when) for when, state, _ in timeline}
    for event in events:
        if (event.state, event.at) not in seen:
            timeline.append((event.at, event.state, event.detail or ""))
    timeline.sort(key=lambda item: item[0])
    return MessageDetail(row, timeline, clicks)


def message_ids(engine: Engine, account_id: int, client_ids: list[str]) -> dict[str, int]:
    """id_sms_api → row id, to link the send form's results to message pages."""
    if not client_ids:
        return {}
    with reading(engine) as conn:
        return message_store.ids_by_client_id(conn, account_id, client_ids)
