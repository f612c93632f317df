"""Webhook settings and the delivery log: callback URLs, signing secrets, list, replay.

Shared by the CLI (`simgate accounts webhooks`, `webhooks list|replay`) and the
dashboard. Signing follows Standard Webhooks (https://www.standardwebhooks.com):
the signed content is `<webhook-id>.<webhook-timestamp>.<JSON text>`, the JSON
text being exactly what the query parameter carries once decoded, so the
`standardwebhooks` package verifies it as is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, select, update

from simgate.domain.dates import utcnow
from simgate.domain.payloads import KINDS
from simgate.errors import NotFound
from simgate.services.accounts import get_account
from simgate.services.urlguard import RefusedAddress, check_url_literal
from simgate.store.tables import accounts, webhooks

SECRET_PREFIX = "whsec_"
STATES = ("pending", "done", "dead")
MAX_URL_LENGTH = 2000
# Statements carrying this execution option wake the sender of this process
# (see workers/webhooks.py); other nodes find the rows on their next poll.
WAKE_OPTION = "simgate_wake_webhooks"
WAKE = {WAKE_OPTION: True}


@dataclass(frozen=True, slots=True)
class WebhookInfo:
    id: int
    event_id: str
    kind: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    done_at: datetime | None


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
    with engine.connect() as conn:
        account = get_account(conn, email)
        row = conn.execute(select(accounts).where(accounts.c.id == account.id)).one()
    return {kind: row._mapping[f"webhook_{kind}"] for kind in KINDS}


def set_callbacks(
    engine: Engine, email: str, urls: dict[str, str], allow_private: bool = False
) -> dict[str, str | None]:
    """Set some kinds' callback URLs ("" clears one); returns all five afterwards.

    Deliveries already queued keep the URL they were queued with.
    """
    values: dict[str, str | None] = {}
    for kind, url in urls.items():
        if kind not in KINDS:
            raise ValueError(f"unknown webhook kind {kind!r} (one of {', '.join(KINDS)})")
        try:
            values[f"webhook_{kind}"] = validate_callback_url(url, allow_private) or None
        except ValueError as exc:
            raise ValueError(f"--{kind}: {exc}") from None
    with engine.begin() as conn:
        account = get_account(conn, email)
        if values:
            conn.execute(update(accounts).where(accounts.c.id == account.id).values(**values))
    return get_callbacks(engine, email)


# --- signing -------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_secret(engine: Engine, email: str, rotate: bool = False) -> str:
    """The account's signing secret, created on first use or replaced with `rotate`."""
    with engine.begin() as conn:
        account = get_account(conn, email)
        current = conn.execute(
            select(accounts.c.webhook_secret).where(accounts.c.id == account.id)
        ).scalar()
        if current and not rotate:
            return str(current)
        secret = new_secret()
        conn.execute(
            update(accounts).where(accounts.c.id == account.id).values(webhook_secret=secret)
        )
    return secret


def sign(secret: str, event_id: str, timestamp: int, payload_text: str) -> str:
    """The `webhook-signature` header value: `v1,<base64 HMAC-SHA256>`."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    content = f"{event_id}.{timestamp}.{payload_text}".encode()
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


# --- the delivery log ------------------------------------------------------------


def list_webhooks(
    engine: Engine, email: str, state: str | None = None, limit: int = 100
) -> list[WebhookInfo]:
    """The account's deliveries, newest first."""
    if state is not None and state not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}")
    with engine.connect() as conn:
        account = get_account(conn, email)
        query = select(webhooks).where(webhooks.c.account_id == account.id)
        if state:
            query = query.where(webhooks.c.state == state)
        query = query.order_by(webhooks.c.id.desc()).limit(limit)
        return [_info(r) for r in conn.execute(query)]


def _info(r: Any) -> WebhookInfo:
    return WebhookInfo(
        r.id,
        r.event_id,
        r.kind,
        r.state,
        r.attempts,
        r.last_status,
        r.last_error,
        r.created_at,
        r.next_attempt_at,
        r.done_at,
    )


def _replay_values() -> dict[str, object]:
    # A fresh schedule, due now. The event id stays: a receiver that got an
    # earlier attempt can still tell it is the same event.
    return {
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": utcnow(),
        "claimed_until": None,
        "done_at": None,
    }


def replay(engine: Engine, ident: str, account_id: int | None = None) -> WebhookInfo:
    """Send one delivery again (by numeric id or event id), to the kind's current URL.

    Pass `account_id` to find only that account's deliveries (the dashboard).
    """
    column = webhooks.c.id if ident.isdigit() else webhooks.c.event_id
    key: object = int(ident) if ident.isdigit() else ident
    query = select(webhooks).where(column == key)
    if account_id is not None:
        query = query.where(webhooks.c.account_id == account_id)
    with engine.begin() as conn:
        row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"no webhook {ident}")
        url = conn.execute(
            select(accounts.c[f"webhook_{row.kind}"]).where(accounts.c.id == row.account_id)
        ).scalar()
        if not url:
            raise ValueError(f"the account has no {row.kind} callback URL now; set one first")
        conn.execute(
            update(webhooks)
            .where(webhooks.c.id == row.id)
            .values(url=url, **_replay_values())
            .execution_options(**WAKE)
        )
        return _info(conn.execute(select(webhooks).where(webhooks.c.id == row.id)).one())


def replay_dead(engine: Engine, email: str) -> tuple[int, int]:
    """Replay every dead delivery of the account; returns (replayed, skipped).

    Deliveries of a kind whose callback URL has been cleared are skipped.
    """
    with engine.begin() as conn:
        account = get_account(conn, email)
        urls = conn.execute(select(accounts).where(accounts.c.id == account.id)).one()._mapping
        replayed = skipped = 0
        for kind in KINDS:
            dead = (
                webhooks.c.account_id == account.id,
                webhooks.c.state == "dead",
                webhooks.c.kind == kind,
            )
            url = urls[f"webhook_{kind}"]
            if not url:
                skipped += len(conn.execute(select(webhooks.c.id).where(*dead)).all())
                continue
            replayed += conn.execute(
                update(webhooks)
                .where(*dead)
                .values(url=url, **_replay_values())
                .execution_options(**WAKE)
            ).rowcount
    return replayed, skipped
