"""One HTTP client for the tests' plain calls to loopback servers.

`httpx.post(...)` builds a client per call, and every client loads the CA
bundle for TLS it never uses here: 25-50 ms of CPU a call, a minute or more of
the suite's. This client is built once per process. It keeps no connection
alive, so each call still opens and closes its own, as before.
"""

from __future__ import annotations

from typing import Any

import httpx

client = httpx.Client(timeout=30, limits=httpx.Limits(max_keepalive_connections=0))


def request(method: str, url: str, **kw: Any) -> httpx.Response:
    return client.request(method, url, **kw)


def get(url: str, **kw: Any) -> httpx.Response:
    return client.get(url, **kw)


def post(url: str, **kw: Any) -> httpx.Response:
    return client.post(url, **kw)
