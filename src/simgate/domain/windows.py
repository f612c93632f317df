"""Sending windows (quiet hours): when a windowed message may leave. Pure, no I/O.

STUB laid by the foundation of issue 13; the quiet-hours work fills it
(DST, holidays of the account's country, windows that cross midnight).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from simgate.domain.policy import Window


def next_opening(
    windows: tuple[Window, ...], country: str | None, tz: ZoneInfo, at: datetime
) -> datetime:
    """The first moment at or after `at` (naive UTC) inside one of `windows`
    (local time in `tz`), skipping the public holidays of `country` when it is
    given; `at` itself when it is inside one, or when there are no windows."""
    return at
