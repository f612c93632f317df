"""Newest-first lists filtered on one of a few values (the spellings of a
phone number), as one statement that reads each value's own index range."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, select, union_all


def newest_of_each(
    newest: Callable[[str], Select[Any]], values: list[str], limit: int, *, time: str
) -> Select[Any]:
    """The newest `limit` rows among `newest(value)` for each value, each a
    newest-first LIMITed query on one value with columns `id` and `time`.

    Each part reads its own range of an (account, value, time) index. One
    `IN (...)` over the values would let SQLite, which keeps no statistics,
    walk the account's whole time index instead, to spare itself a sort.
    """
    parts = [newest(value).subquery() for value in values]
    merged = union_all(*(select(*part.c) for part in parts)).subquery()
    return select(*merged.c).order_by(merged.c[time].desc(), merged.c["id"].desc()).limit(limit)
