"""Settings from flags and SIMGATE_* environment variables, checked at start."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIMGATE_", extra="ignore")

    data_dir: Path = Path("./simgate-data")
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    # synchronous=FULL makes `sent: 1` survive a power cut; NORMAL only a crash.
    sqlite_synchronous: str = "FULL"
    max_body_bytes: int = 5 * 1024 * 1024
    # Slow or idle clients (docs/deploy.md): a connection must send a complete
    # request head this long after it opens (or after its previous request's
    # first byte), and a body this long after its head; else it is closed.
    # 60 s carries max_body_bytes at about 90 kB/s.
    header_timeout_seconds: float = Field(10.0, gt=0)
    body_timeout_seconds: float = Field(60.0, gt=0)
    # The reverse proxies whose X-Forwarded-For/-Proto are believed; none by default.
    forwarded_allow_ips: Annotated[list[str], NoDecode] = []
    max_messages_per_request: int = 10_000
    # Phones and dispatch (issue 3)
    lease_seconds: float = 30.0
    max_send_attempts: int = 3
    # Hand-overs a device never acknowledges before the message fails: a
    # message no device can take must not block the queue (docs/security.md).
    max_handovers: int = 5
    # After a device acks a message, how long it has to report sent/failed.
    result_timeout_seconds: float = 600.0
    # Messages one device may hold at once (handed over, not yet reported on):
    # bounds what a phone that stops reporting can strand until its leases end.
    max_in_flight: int = Field(200, ge=1)
    heartbeat_seconds: float = 20.0
    node_name: str | None = None
    # Webhooks (issue 4)
    webhook_retry_schedule: str | None = None
    webhook_timeout_seconds: float = 5.0
    webhook_concurrency: int = 64
    webhook_per_host: int = 8
    allow_private_callbacks: bool = False
    # Dashboard
    session_secret: str | None = None
    secure_cookies: bool = False

    @field_validator("sqlite_synchronous")
    @classmethod
    def _check_sync(cls, value: str) -> str:
        value = value.upper()
        if value not in {"FULL", "NORMAL", "EXTRA"}:
            raise ValueError("must be FULL, NORMAL or EXTRA")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql://")
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

    def retry_schedule(self) -> list[float]:
        from simgate.domain.retry import DEFAULT_SCHEDULE, parse_schedule

        if self.webhook_retry_schedule:
            return parse_schedule(self.webhook_retry_schedule)
        return list(DEFAULT_SCHEDULE)
