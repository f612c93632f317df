"""The Webhooks page: the account's callback URLs and secret, and a paged,
account-scoped view of the delivery log. Setting URLs, creating secrets and
replaying live in services/webhook_admin.py, shared with the CLI."""

from __future__ import annotations

from sqlalchemy import Engine

from simgate.store import accounts
from simgate.store import outbox as outbox_store
from simgate.store.dashboard import deliveries as store
from simgate.store.dashboard.common import Page
from simgate.store.db import reading

__all__ = [
    "clear_webhook_secret",
    "finished_delivery",
    "list_deliveries",
    "webhook_settings",
]


def webhook_settings(engine: Engine, account_id: int) -> tuple[dict[str, str], str | None]:
    """(kind → callback URL, "" when unset; signing secret or None)."""
    with reading(engine) as conn:
        urls, secret = accounts.webhook_settings(conn, account_id)
    return {kind: url or "" for kind, url in urls.items()}, secret


def clear_webhook_secret(engine: Engine, account_id: int) -> None:
    """Stop signing deliveries (webhook_admin only creates and rotates secrets)."""
    with engine.begin() as conn:
        accounts.set_webhook_secret(conn, account_id, None)


def list_deliveries(engine: Engine, account_id: int, state: str = "", link: str = "") -> Page:
    with reading(engine) as conn:
        return store.page_of_deliveries(conn, account_id, state, link)


def finished_delivery(engine: Engine, account_id: int, delivery_id: int) -> bool:
    """Whether the delivery is the account's and finished (done or dead), so replayable."""
    with reading(engine) as conn:
        return outbox_store.finished(conn, account_id, delivery_id)
