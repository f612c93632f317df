"""Signing in to the dashboard: with a plain HTTP client, or in a browser page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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


def signed_in_page(
    browser: Any, base_url: str, email: str, height: int = 860
) -> tuple[Any, Any, list[str]]:
    """A 1280-wide browser page signed in as `email`, on the overview:
    (context, page, the page's JavaScript errors as they come)."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": height})
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto("/app/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/app/$"))
    return context, page, problems
