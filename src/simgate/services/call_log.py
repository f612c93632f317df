"""An account's call log for v2: calls, their qualifications and the
qualification figures. Reads only; each a few indexed queries (the figures
from the activity rollups, store/activity.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import Engine

from simgate.domain.activity import LabelTotal, by_kind
from simgate.domain.call_log import CALL_TYPES, KIND_OF_TYPE, CallType, call_type, rate
from simgate.domain.numbers import spellings
from simgate.errors import NotFound
from simgate.store import activity
from simgate.store import calls as store
from simgate.store import qualification_options as options
from simgate.store.calls import CallRow, QualifiedRow
from simgate.store.db import reading

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    rows: list[T]
    has_more: bool


@dataclass(frozen=True, slots=True)
class QualificationStats:
    total_calls: int
    qualified_calls: int
    qualification_rate: float  # percent
    by_type: dict[CallType, int]
    qualified_by_type: dict[CallType, int]
    by_label: list[LabelTotal]


def list_calls(
    engine: Engine,
    account_id: int,
    limit: int,
    types: tuple[CallType, ...] | None = None,
    phone: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    qualified: bool | None = None,
    bound: tuple[datetime, int] | None = None,
) -> Page[CallRow]:
    """Calls newest first; `phone` (E.164) matches however the phone reported it."""
    kinds = tuple(KIND_OF_TYPE[t] for t in types) if types is not None else None
    phones = spellings(phone) if phone is not None else None
    with reading(engine) as conn:
        rows = store.page_of_calls(
            conn, account_id, limit + 1, kinds, phones, since, until, qualified, bound
        )
    return Page(rows[:limit], len(rows) > limit)


def list_qualifications(
    engine: Engine,
    account_id: int,
    limit: int,
    phone: str | None = None,
    option_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    bound: tuple[datetime, int] | None = None,
) -> Page[QualifiedRow]:
    """Qualifications newest first; `option_id` must be one the account has or
    had (a deleted option still finds the qualifications made with it)."""
    phones = spellings(phone) if phone is not None else None
    with reading(engine) as conn:
        if option_id is not None and not options.known(conn, account_id, option_id):
            raise NotFound(f"no qualification option {option_id}", field="option_id")
        rows = store.page_of_qualifications(
            conn, account_id, limit + 1, phones, option_id, since, until, bound
        )
    return Page(rows[:limit], len(rows) > limit)


def qualification_stats(
    engine: Engine, account_id: int, since: datetime | None, until: datetime | None
) -> QualificationStats:
    """Calls made or received in [since, until), how many are qualified, by
    type, and their qualifications by label."""
    with reading(engine) as conn:
        counts = activity.tally(conn, account_id, since, until, labels=True)
        labels = activity.label_totals(conn, account_id, counts)
    kinds = by_kind(counts)
    by_type: dict[CallType, int] = dict.fromkeys(CALL_TYPES, 0)
    qualified_by_type: dict[CallType, int] = dict.fromkeys(CALL_TYPES, 0)
    for count in kinds:
        name = call_type(count.kind)
        by_type[name] += count.calls
        qualified_by_type[name] += count.qualified
    total = sum(by_type.values())
    qualified = sum(qualified_by_type.values())
    return QualificationStats(
        total, qualified, rate(qualified, total), by_type, qualified_by_type, labels
    )


__all__ = [
    "CallRow",
    "Page",
    "QualificationStats",
    "QualifiedRow",
    "list_calls",
    "list_qualifications",
    "qualification_stats",
]
