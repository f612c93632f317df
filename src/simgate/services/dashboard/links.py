"""The Links page: tracked links and their clicks, by people and by link previews."""

from __future__ import annotations

from sqlalchemy import Engine

from simgate.domain.activity import CLICKS, PREVIEWS
from simgate.store import activity
from simgate.store.dashboard import messages as store
from simgate.store.dashboard.common import Page
from simgate.store.db import reading


def list_links(engine: Engine, account_id: int, link: str = "") -> Page:
    """A page of tracked links, newest first, with clicks by people and by previews."""
    with reading(engine) as conn:
        return store.page_of_links(conn, account_id, link)


def link_totals(engine: Engine, account_id: int) -> tuple[int, int]:
    """(clicks by people, clicks by link previews) over all of the account's links."""
    with reading(engine) as conn:
        counts = activity.tally(conn, account_id, None, None)
    return counts[CLICKS], counts[PREVIEWS]
