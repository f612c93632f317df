"""Keyset cursors of the newest-first v2 lists in this area (sms, calls,
qualifications, clicks): a time (naive UTC, written with its offset) and the
row's id, plus a rank when two tables share one list."""

from __future__ import annotations

from datetime import datetime

from simgate.api.v2.envelope import Call
from simgate.domain import cursors
from simgate.domain.dates import InvalidDate, parse_send_date
from simgate.errors import Invalid


def encode(at: datetime, *rest: int) -> str:
    return cursors.encode(at.isoformat() + "+00:00", *rest)


def decode(call: Call, size: int) -> tuple[datetime, list[int]] | None:
    """The request's `cursor` as (time, the ints after it); None when absent."""
    values = call.params.cursor(size)
    if values is None:
        return None
    at, *rest = values
    try:
        moment = parse_send_date(at, call.account.tz) if isinstance(at, str) else None
    except InvalidDate:
        moment = None
    if moment is None or not all(_row_number(v) for v in rest):
        raise Invalid("cursor", "cursor: not a cursor this server gave")
    return moment, rest


def _row_number(value: object) -> bool:
    # Within a 64-bit column: PostgreSQL refuses a larger bound outright.
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def time_and_id(call: Call) -> tuple[datetime, int] | None:
    decoded = decode(call, 2)
    return None if decoded is None else (decoded[0], decoded[1][0])
