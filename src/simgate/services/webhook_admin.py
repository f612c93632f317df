"""Webhook settings and the delivery log: callback URLs, signing secrets, list, replay.

Shared by the CLI (`simgate accounts webhooks`, `webhooks list|replay`) and the
dashboard. Signing follows Standard Webhooks (https://www.standardwebhooks.com):
the signed content is `<webhook-id>.<webhook-timestamp>.<JSON text>`, the JSON
text being exactly what the query parameter carries once decoded, so the
`standardwebhooks` package verifies it as is.
"""

from __future__ import annotations

import base64
import secrets
from urllib.parse import urlsplit

from sqlalchemy import Engine

from simgate._wire import SECRET_PREFIX, WEBHOOK_KINDS
from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.domain.states import DELIVERY_STATES
from simgate.errors import NotFound
from simgate.services.accounts import get_account
from simgate.services.urlguard import RefusedAddress, check_url_literal
from simgate.store import accounts
from simgate.store import outbox as store
from simgate.store.db import reading
from simgate.store.outbox import WebhookInfo

MAX_URL_LENGTH = 2000


# --- callback URLs -------------------------------------------------------------


def validate_callback_url(url: str, allow_private: bool = False) -> str:
    """The URL, stripped, if it can be a callback URL; "" clears. ValueError says why not."""
    url = url.strip()
    if not url:
        return ""
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"callback URL longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ValueError("callback URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a URL: {exc}") from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise ValueError("callback URL must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("callback URL has no host")
    if port == 0:
        raise ValueError("callback URL has port 0")
    if parts.fragment or url.endswith("#"):
        # Everything after '#' stays in the browser: the parameter would never be sent.
        raise ValueError("callback URL must not have a #fragment")
    try:
        check_url_literal(url, allow_private)
    except RefusedAddress as exc:
        raise ValueError(f"{exc} (set SIMGATE_ALLOW_PRIVATE_CALLBACKS=true to allow)") from None
    return url


def get_callbacks(engine: Engine, email: str) -> dict[str, str | None]:
    with reading(engine) as conn:
        return accounts.callback_urls(conn, get_account(conn, email).id)


def set_callbacks(
    engine: Engine, email: str, urls: dict[str, str], allow_private: bool = False
) -> dict[str, str | None]:
    """Set some kinds' callback URLs ("" clears one); returns all five afterwards.

    Deliveries already queued keep the URL they were queued with.
    """
    values: dict[str, str | None] = {}
    for kind, url in urls.items():
        if kind not in WEBHOOK_KINDS:
            raise ValueError(f"unknown webhook kind {kind!r} (one of {', '.join(WEBHOOK_KINDS)})")
        try:
            values[kind] = validate_callback_url(url, allow_private) or None
        except ValueError as exc:
            raise ValueError(f"--{kind}: {exc}") from None
    with engine.begin() as conn:
        account = get_account(conn, email)
        if values:
            accounts.set_callback_urls(conn, account.id, values)
    return get_callbacks(engine, email)


# --- signing -------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_secret(engine: Engine, email: str, rotate: bool = False) -> str:
    """The account's signing secret, created on first use or replaced with `rotate`."""
    with engine.begin() as conn:
        account = get_account(conn, email)
        current = accounts.webhook_secret(conn, account.id)
        if current and not rotate:
            return current
        secret = new_secret()
        accounts.set_webhook_secret(conn, account.id, secret)
    return secret


# --- the delivery log ------------------------------------------------------------


def list_webhooks(
    engine: Engine, email: str, state: str | None = None, limit: int = 100
) -> list[WebhookInfo]:
    """The account's deliveries, newest first."""
    if state is not None and state not in DELIVERY_STATES:
        raise ValueError(f"state must be one of {', '.join(DELIVERY_STATES)}")
    with reading(engine) as conn:
        return store.listing(conn, get_account(conn, email).id, state, limit)


def replay(
    engine: Engine, ident: str, account_id: int | None = None, clock: Clock = SYSTEM_CLOCK
) -> WebhookInfo:
    """Send one delivery again (by numeric id or event id), to the kind's current URL.

    Pass `account_id` to find only that account's deliveries (the dashboard).
    """
    with engine.begin() as conn:
        found = store.find(conn, ident, account_id)
        if found is None:
            raise NotFound(f"no webhook {ident}")
        webhook_id, owner, kind = found
        url = accounts.callback_url(conn, owner, kind)
        if not url:
            raise ValueError(f"the account has no {kind} callback URL now; set one first")
        store.replay(conn, webhook_id, url, clock.now())
        return store.info(conn, webhook_id)


def replay_dead(engine: Engine, email: str, clock: Clock = SYSTEM_CLOCK) -> tuple[int, int]:
    """Replay every dead delivery of the account; returns (replayed, skipped).

    Deliveries of a kind whose callback URL has been cleared are skipped.
    """
    with engine.begin() as conn:
        account = get_account(conn, email)
        urls = accounts.callback_urls(conn, account.id)
        replayed = skipped = 0
        now = clock.now()
        for kind in WEBHOOK_KINDS:
            url = urls[kind]
            if not url:
                skipped += store.count_dead(conn, account.id, kind)
                continue
            replayed += store.replay_dead(conn, account.id, kind, url, now)
    return replayed, skipped
