"""Signing in to the dashboard with a plain HTTP client (no browser)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery"


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


@contextmanager
def signed_in_client(base_url: str, email: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        page = client.get("/app/login")
        answer = client.post(
            "/app/login",
            data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
        )
        assert answer.status_code == 303, answer.text
        yield client
