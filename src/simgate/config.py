"""Settings from flags and SIMGATE_* environment variables, checked at start.

Every value is parsed and checked here, when `Settings` is built: a wrong
one stops `simgate serve` before anything starts (cli_options.load_settings
names the variable), never later inside a worker. Each field's description
is the text of docs/configuration.md (`simgate config docs` writes it).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from simgate.domain.retry import DEFAULT_SCHEDULE, parse_schedule

ENV_PREFIX = "SIMGATE_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # --- where the data lives -------------------------------------------------
    data_dir: Path = Field(
        Path("./simgate-data"),
        description="Folder of the embedded SQLite store, and of the dashboard's "
        "session secret when none is configured.",
    )
    database_url: str | None = Field(
        None,
        description="`postgresql://user:pass@host/db` to use PostgreSQL (needed for "
        "several nodes); unset, the store is SQLite in the data folder.",
    )
    # synchronous=FULL makes `sent: 1` survive a power cut; NORMAL only a crash.
    sqlite_synchronous: str = Field(
        "FULL",
        description="SQLite's `synchronous` pragma: FULL (an accepted message survives "
        "a power cut), NORMAL (survives a crash of simgate) or EXTRA.",
    )

    # --- serving --------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8000, ge=1, le=65535, description="Port to listen on.")
    public_url: str | None = Field(
        None,
        description="Base URL of tracked short links and of the server address shown "
        "when pairing phones; default `http://HOST:PORT`.",
    )
    max_body_bytes: int = Field(
        5 * 1024 * 1024, gt=0, description="Largest request body accepted (bytes)."
    )
    # Slow or idle clients (docs/deploy.md). 60 s carries max_body_bytes at about 90 kB/s.
    header_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="Seconds a connection has to send a complete request head, from its "
        "opening or from its previous request's first byte.",
    )
    body_timeout_seconds: float = Field(
        60.0, gt=0, description="Seconds a request has to send its body after its head."
    )
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(
        [],
        description="Comma-separated addresses or networks of the reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed; none by default.",
    )
    # A rolling restart's stop (docs/deploy.md); systemd's TimeoutStopSec must exceed it.
    shutdown_timeout_seconds: float = Field(
        30.0,
        ge=1,
        le=3600,  # infinite would turn the watchdog off
        description="Seconds a node has, from SIGTERM, to finish the requests under way, "
        "hand its phones' unacknowledged messages back and end the webhook requests "
        "under way; then what is left is cut off and the process exits.",
    )
    max_messages_per_request: int = Field(
        10_000, ge=1, description="Most messages (or contacts) in one API request."
    )
    api_v2_requests_per_minute: int = Field(
        600,
        ge=0,
        description="v2 API requests an account may make per minute, with bursts of as many; "
        "over it the answer is RATE_LIMIT_EXCEEDED (429). 0: no limit.",
    )
    node_name: str | None = Field(
        None,
        min_length=1,
        description="This node's name among the nodes sharing a PostgreSQL store; "
        "default `HOSTNAME-PID-RANDOM`.",
    )

    # --- operations (docs/metrics.md) --------------------------------------------
    metrics_token: str | None = Field(
        None,
        description="Bearer token Prometheus sends to read `/metrics`; unset, `/metrics` "
        "answers 404.",
    )
    log_format: str = Field(
        "text",
        description="`text` (one readable line per record) or `json` (one JSON object per "
        "line: time, level, logger, message, request id, account id).",
    )

    # --- phones and dispatch --------------------------------------------------
    lease_seconds: float = Field(
        30.0,
        gt=0,
        description="Seconds a phone has to acknowledge a message handed to it before "
        "the message goes back to the queue.",
    )
    max_send_attempts: int = Field(
        3, ge=1, description="Failed sends of one message (on any phones) before it fails."
    )
    # A message no device can take must not block the queue (docs/security.md).
    max_handovers: int = Field(
        5,
        ge=1,
        description="Hand-overs a phone never acknowledges before the message fails.",
    )
    result_timeout_seconds: float = Field(
        600.0,
        gt=0,
        description="Seconds a phone has, once it acknowledged a message, to report it "
        "sent or failed; then the message fails.",
    )
    # Bounds what a phone that stops reporting can strand until its leases end.
    max_in_flight: int = Field(
        200,
        ge=1,
        description="Messages one phone may hold at once (handed over, not yet reported on). "
        "It gets more once a quarter of that is free, or at the next sweep.",
    )
    heartbeat_seconds: float = Field(
        20.0, gt=0, description="Seconds between pings to each connected phone."
    )
    dispatch_poll_seconds: float = Field(
        0.5,
        gt=0,
        description="Seconds between the dispatcher's looks for due messages when "
        "nothing wakes it (new messages and freed phones wake it at once).",
    )
    dispatch_sweep_seconds: float = Field(
        1.0,
        gt=0,
        description="Seconds between sweeps that queue scheduled messages whose time "
        "has come and take back expired hand-overs; a message put back in an emptied "
        "queue (a failed send, a phone gone) is handed out again by the next one.",
    )

    # --- webhooks ---------------------------------------------------------------
    webhook_retry_schedule: Annotated[tuple[float, ...], NoDecode] = Field(
        DEFAULT_SCHEDULE,
        description="Comma-separated seconds to wait before each retry of a failed "
        "webhook (plus up to 10 % jitter); after the last one the delivery is dead.",
    )
    webhook_timeout_seconds: float = Field(
        5.0, gt=0, description="Seconds a callback URL has to answer."
    )
    webhook_concurrency: int = Field(
        64, ge=1, description="Webhook requests in flight at once on this node."
    )
    webhook_per_host: int = Field(
        8, ge=1, description="Webhook requests in flight at once to one destination."
    )
    webhook_poll_seconds: float = Field(
        1.0,
        gt=0,
        description="Seconds between the webhook sender's looks for due deliveries "
        "when nothing wakes it (new events wake it at once).",
    )
    allow_private_callbacks: bool = Field(
        False,
        description="Let callback URLs reach private, loopback and link-local addresses.",
    )

    # --- dashboard ----------------------------------------------------------------
    session_secret: str | None = Field(
        None,
        description="Key that signs dashboard cookies; set the same on every node. "
        "Unset: generated once and kept in the data folder.",
    )
    secure_cookies: bool = Field(
        False,
        description="Send dashboard cookies over HTTPS only (implied by an https public URL).",
    )

    # --- retention (docs/retention.md) -------------------------------------------
    # Messages, received SMS, calls, qualifications and clicks are history and
    # never pruned; these are the rows that only serve while work is in flight.
    retention_webhooks_done_days: int = Field(
        30, ge=0, description="Days a delivered webhook is kept, from delivery; 0 keeps it."
    )
    retention_webhooks_dead_days: int = Field(
        90,
        ge=0,
        description="Days a dead webhook is kept, from when it died, unless replayed; 0 keeps it.",
    )
    retention_device_refs_days: int = Field(
        30,
        ge=0,
        description="Days the refs that dedupe re-sent device reports are kept; 0 keeps them.",
    )
    retention_message_events_days: int = Field(
        180,
        ge=0,
        description="Days the events (retries, failures) of settled messages are kept; "
        "0 keeps them.",
    )
    retention_interval_seconds: float = Field(
        3600.0, gt=0, description="Seconds between pruning runs (one runs at start)."
    )
    # SQLite has one writer: a big delete would hold every accept behind it.
    retention_batch_rows: int = Field(
        500, ge=1, le=100_000, description="Rows the pruner deletes per transaction."
    )
    # After a batch that took t the pruner rests t * (1 / share - 1), so it
    # slows down by itself on a slow disk or a busy store.
    retention_store_share: float = Field(
        0.01,
        gt=0,
        le=1,
        description="Share of the store's time the pruner may take at most; 1 prunes "
        "flat out (`simgate prune` in a quiet hour).",
    )

    @field_validator("sqlite_synchronous")
    @classmethod
    def _check_sync(cls, value: str) -> str:
        value = value.upper()
        if value not in {"FULL", "NORMAL", "EXTRA"}:
            raise ValueError("must be FULL, NORMAL or EXTRA")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _check_metrics_token(cls, value: str | None) -> str | None:
        if not value:
            return None
        if len(value) < 16:
            raise ValueError("must be at least 16 characters (say, `openssl rand -hex 16`)")
        if not value.isascii() or not value.isprintable() or " " in value:
            raise ValueError("must be printable ASCII without spaces")
        return value

    @field_validator("log_format")
    @classmethod
    def _check_log_format(cls, value: str) -> str:
        value = value.lower()
        if value not in {"text", "json"}:
            raise ValueError("must be text or json")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql://")
        return value or None

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018  (raises on a port that is not a number)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a URL ({exc})") from None
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{value!r} must be an http:// or https:// URL with a host")
        return value

    @field_validator("session_secret")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _check_proxies(cls, value: Any) -> Any:
        # Comma-separated in the environment and on the command line. uvicorn would
        # take a mistyped entry as a literal that never matches; refuse it instead.
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list):
            return value
        proxies = []
        for item in (str(i).strip() for i in items):
            if not item:
                continue
            try:
                parsed = ipaddress.ip_network(item) if "/" in item else ipaddress.ip_address(item)
            except ValueError as exc:
                raise ValueError(f"{item!r} is not an IP address or network ({exc})") from None
            proxies.append(str(parsed))
        return proxies

    @field_validator("webhook_retry_schedule", mode="before")
    @classmethod
    def _parse_schedule(cls, value: Any) -> Any:
        # "15,60,300" in the environment; empty means the default schedule.
        if isinstance(value, str):
            return tuple(parse_schedule(value)) if value.strip() else DEFAULT_SCHEDULE
        if value is None:
            return DEFAULT_SCHEDULE
        return value

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _check_schedule(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(step < 0 for step in value):
            raise ValueError("retry schedule needs at least one non-negative number of seconds")
        return value

    def resolved_database_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Let operators paste the usual libpq URL; we drive it with psycopg 3.
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            return url
        return f"sqlite:///{(self.data_dir / 'simgate.db').resolve()}"

    def resolved_public_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        return self.local_url()

    def local_url(self) -> str:
        """Where this machine reaches the server: a wildcard bind address
        (0.0.0.0, ::) is no address to connect to, so it becomes 127.0.0.1."""
        host = "127.0.0.1" if self.host in {"0.0.0.0", "::"} else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def resolved_node_name(self) -> str:
        """This process's name among the nodes sharing a store."""
        if self.node_name:
            return self.node_name
        import os
        import secrets
        import socket

        return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


def env_name(field: str) -> str:
    """The environment variable of a setting: `port` → `SIMGATE_PORT`."""
    return ENV_PREFIX + field.upper()
