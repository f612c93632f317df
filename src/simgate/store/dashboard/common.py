"""What the page queries share: keyset pages of rows, and counting by condition.

Every dashboard list pages by keyset (docs/dashboard.md, "Lists"): a page
link carries the sort key of the row next to it (domain/cursors.page_link),
and the next page seeks there through the list's index, so page 1,000 costs
what page 1 costs and rows added meanwhile never shift a page.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, DateTime, Select, Table, and_, case, func, or_

from simgate.domain.cursors import page_link, read_page_link

PAGE_SIZE = 50
SCAN_WINDOW = 10_000  # rows one page may look through for a condition no index serves


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Any]  # the dataclass each page's query builds per row
    page: int  # its number as shown, 1 for the first
    before: str | None = None  # link to the page before it ("newer")
    after: str | None = None  # link to the page after it ("older")
    # Set when the page stopped after looking through this many rows (a
    # search no index serves); `after`/`before` then go on searching.
    scanned: int | None = None

    @property
    def has_next(self) -> bool:
        return self.after is not None


def keyset_page(
    conn: Connection,
    query: Select[Any],
    key: Sequence[Column[Any]],
    link: str,
    make: Callable[..., Any],
    *,
    descending: bool = True,
    sparse: Any = None,
    size: int = PAGE_SIZE,
) -> Page:
    """The page of `query` that `link` points at (the first for "" or a bad
    link), ordered by `key` (the last column unique), each row built with
    `make(**columns)`. `query` selects every column of `key`.

    `sparse` is a condition no index serves: a page then reads at most
    SCAN_WINDOW rows of `query` past its link, and says so in `scanned`.
    """
    reader = _Reader(conn, query, key, make, descending, sparse, size)
    where = read_page_link(link, len(key))
    if where is None:
        return reader.first()
    bound = reader.parse(where.key)
    if bound is None:
        return reader.first()
    if where.back:
        return reader.back(where.number, bound)
    return reader.forward(where.number, bound)


@dataclass(frozen=True, slots=True)
class _Reader:
    conn: Connection
    query: Select[Any]
    key: Sequence[Column[Any]]
    make: Callable[..., Any]
    descending: bool
    sparse: Any
    size: int

    def first(self) -> Page:
        rows, edge = self._fetch(True, None)
        return self._page(1, rows, edge, None)

    def forward(self, number: int, bound: tuple[Any, ...]) -> Page:
        rows, edge = self._fetch(True, bound)
        if not rows and edge is None:
            return self.first()  # nothing left past it (rows deleted meanwhile)
        return self._page(number, rows, edge, bound)

    def back(self, number: int, bound: tuple[Any, ...]) -> Page:
        rows, edge = self._fetch(False, bound)
        if len(rows) <= self.size and edge is None:
            return self.first()  # it reaches the top of the list
        more = len(rows) > self.size
        shown = rows[: self.size][::-1]
        number = max(number, 2)
        before = self._link(number - 1, True, shown[0] if more else None, edge)
        after = page_link(number + 1, False, self._values(shown[-1] if shown else bound))
        scanned = None if more else SCAN_WINDOW
        return Page([self.make(**r._mapping) for r in shown], number, before, after, scanned)

    def _page(self, number: int, rows: list[Any], edge: Any, bound: tuple[Any, ...] | None) -> Page:
        shown = rows[: self.size]
        more = len(rows) > self.size
        after = self._link(number + 1, False, shown[-1] if more else None, edge)
        before = None
        if number > 1 and bound is not None:
            before = page_link(number - 1, True, self._values(shown[0] if shown else bound))
        scanned = SCAN_WINDOW if edge is not None and not more else None
        return Page([self.make(**r._mapping) for r in shown], number, before, after, scanned)

    def _link(self, number: int, back: bool, row: Any, edge: Any) -> str | None:
        """The link past `row`, else past the scan window's last row `edge`."""
        if row is not None:
            return page_link(number, back, self._values(row))
        if edge is not None:
            return page_link(number, back, self._values(edge))
        return None

    def _fetch(self, forward: bool, bound: tuple[Any, ...] | None) -> tuple[list[Any], Any]:
        """Up to size + 1 rows past `bound` in that direction, and, for a sparse
        search, the last row of the scan window when the window was full."""
        down = forward == self.descending
        query = self.query
        if bound is not None:
            query = query.where(_past(self.key, bound, down))
        order = [c.desc() if down else c.asc() for c in self.key]
        edge = None
        if self.sparse is not None:
            window = query.with_only_columns(*self.key).order_by(*order)
            # The window's last row, if any row lies past it (else the window
            # reaches the end of the list and no link needs to go on).
            probe = self.conn.execute(window.limit(2).offset(SCAN_WINDOW - 1)).all()
            edge = probe[0] if len(probe) == 2 else None
            if edge is not None:
                # The rows up to the edge, itself included: the window.
                query = query.where(_past(self.key, tuple(edge), not down, inclusive=True))
            query = query.where(self.sparse)
        rows = list(self.conn.execute(query.order_by(*order).limit(self.size + 1)))
        return rows, edge

    def _values(self, row: Any) -> tuple[str | int, ...]:
        """The key of a row read (or of a link's parsed key), for a link."""
        if isinstance(row, tuple):
            return tuple(_plain(v) for v in row)
        return tuple(_plain(row._mapping[c.name]) for c in self.key)

    def parse(self, values: tuple[str | int, ...]) -> tuple[Any, ...] | None:
        """A link's key back in the columns' types; None if it does not fit."""
        parsed: list[Any] = []
        for column, value in zip(self.key, values, strict=True):
            if isinstance(column.type, DateTime):
                if not isinstance(value, str):
                    return None
                try:
                    parsed.append(datetime.fromisoformat(value).replace(tzinfo=None))
                except ValueError:
                    return None
            elif column.type.python_type is int:
                if not isinstance(value, int) or abs(value) >= 2**63:
                    return None
                parsed.append(value)
            else:
                if not isinstance(value, str) or "\x00" in value:
                    return None
                parsed.append(value)
        return tuple(parsed)


def _plain(value: Any) -> str | int:
    return value.isoformat() if isinstance(value, datetime) else value


def _past(
    key: Sequence[Column[Any]], values: tuple[Any, ...], down: bool, inclusive: bool = False
) -> Any:
    """The rows whose key comes after `values` going down (smaller) or up;
    with `inclusive`, the row at `values` too."""
    strict = operator.lt if down else operator.gt
    loose = operator.le if down else operator.ge
    condition = (loose if inclusive else strict)(key[-1], values[-1])
    for column, value in zip(reversed(key[:-1]), reversed(values[:-1]), strict=True):
        condition = or_(strict(column, value), and_(column == value, condition))
    # The first column's range on its own too: a range the index seeks to.
    return and_(loose(key[0], values[0]), condition)


def count_if(condition: Any) -> Any:
    """SUM(CASE WHEN condition THEN 1 ELSE 0 END), 0 for no rows."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def columns(table: Table, row_type: type, *, skip: tuple[str, ...] = ()) -> list[Column[Any]]:
    """The columns of `table` that the dataclass `row_type` names, in its order.

    Named one by one rather than `select(table)`, so that a column added later
    does not break the row type.
    """
    return [table.c[f.name] for f in fields(row_type) if f.name not in skip]
