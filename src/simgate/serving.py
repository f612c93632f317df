"""How the app is served: the uvicorn settings that `simgate serve` and the tests share."""

from __future__ import annotations

from typing import Any

from simgate.config import Settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The arguments of `uvicorn.run` / `uvicorn.Config` that `settings` decide."""
    return {
        "host": settings.host,
        "port": settings.port,
        "lifespan": "on",
        # X-Forwarded-For/-Proto are believed only from the proxies the operator
        # names: uvicorn's default believes any process on 127.0.0.1.
        "proxy_headers": bool(settings.forwarded_allow_ips),
        "forwarded_allow_ips": settings.forwarded_allow_ips or None,
    }
