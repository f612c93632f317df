"""What the page queries share: pages of rows, and counting by condition."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Column, Connection, Select, Table, case, func

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Any]  # the dataclass each page's query builds per row
    page: int
    has_next: bool


def page_of(
    conn: Connection,
    query: Select[Any],
    page: int,
    make: Callable[..., Any],
    size: int = PAGE_SIZE,
) -> Page:
    """Page `page` (from 1) of `query`, each row built with `make(**columns)`."""
    page = max(page, 1)
    rows = list(conn.execute(query.limit(size + 1).offset((page - 1) * size)))
    return Page([make(**row._mapping) for row in rows[:size]], page, len(rows) > size)


def count_if(condition: Any) -> Any:
    """SUM(CASE WHEN condition THEN 1 ELSE 0 END), 0 for no rows."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def columns(table: Table, row_type: type, *, skip: tuple[str, ...] = ()) -> list[Column[Any]]:
    """The columns of `table` that the dataclass `row_type` names, in its order.

    Named one by one rather than `select(table)`, so that a column added later
    does not break the row type.
    """
    return [table.c[f.name] for f in fields(row_type) if f.name not in skip]
