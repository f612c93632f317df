"""The transactional outbox: webhook rows written in the caller's transaction.

A service that changes state calls `enqueue` with its own connection, so the
webhook row commits (or rolls back) with the change that causes it. The
sender in `workers/webhooks.py` delivers the rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from simgate._wire import WEBHOOK_KINDS
from simgate.domain import ids
from simgate.domain.payloads import json_text
from simgate.store import accounts
from simgate.store import outbox as store


def enqueue(
    conn: Connection,
    account_id: int,
    kind: str,
    payload: dict[str, Any],
    url: str | None = None,
    *,
    now: datetime,
) -> bool:
    """Queue one webhook of `kind` if the account has a callback URL for it,
    due at `now`.

    Pass `url` when the caller already read it (saves a query per event).
    Returns whether a row was written.
    """
    return enqueue_many(conn, account_id, kind, [payload], url, now=now) > 0


def enqueue_many(
    conn: Connection,
    account_id: int,
    kind: str,
    payloads: list[dict[str, Any]],
    url: str | None = None,
    *,
    now: datetime,
) -> int:
    assert kind in WEBHOOK_KINDS, kind
    if url is None:
        url = accounts.callback_url(conn, account_id, kind)
    if not url or not payloads:
        return 0
    stamp = now.replace(tzinfo=UTC).timestamp()
    events = [(ids.event_id(stamp), json_text(payload)) for payload in payloads]
    store.insert_events(conn, account_id, kind, url, events, now)
    return len(payloads)
