"""/docs and /redoc in a real browser, under their Content-Security-Policy.

tests/integration/test_v1_docs.py checks that the pages name only files of
this server; this checks that the vendored Swagger UI and ReDoc actually run
under the policy (a new version needing `eval` or an outside font would fail
here), and that the browser fetches nothing from anywhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from simgate.config import Settings
from tests.support.servers import LiveServer

pytestmark = pytest.mark.e2e

# ReDoc's footer shows a logo from its vendor's CDN; the policy blocks it (and
# ReDoc then hides the image). That one refusal is expected.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("api-docs") / "data")
    with LiveServer(settings) as server:
        yield server


def open_page(browser: Any, server: LiveServer, path: str, ready: str) -> tuple[Any, list[str]]:
    context = browser.new_context(base_url=server.url)
    problems: list[str] = []

    def only_here(route: Any) -> None:
        if route.request.url.startswith(server.url + "/"):
            route.continue_()
        else:  # never let a test reach outside loopback
            problems.append(f"request to {route.request.url}")
            route.abort()

    context.route("**/*", only_here)
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.goto(path)
    page.wait_for_selector(ready, timeout=20_000)
    return page, problems


def test_swagger_ui_runs_and_tries_a_call(browser: Any, served: LiveServer) -> None:
    page, problems = open_page(browser, served, "/docs", ".swagger-ui .info .title")
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("simgate")
    page.click("#operations-inSIM_v1-sendsms_api_v1_sendsms_post .opblock-summary")
    page.click("text=Try it out")
    page.click("text=Execute")
    # The reference's example credentials are refused: the call went out and back.
    status = page.locator(".live-responses-table tr.response .response-col_status")
    status.wait_for()
    assert status.inner_text().strip() == "401"
    assert [p for p in problems if "401 (Unauthorized)" not in p] == []
    page.context.close()


def test_redoc_runs_and_searches(browser: Any, served: LiveServer) -> None:
    page, problems = open_page(browser, served, "/redoc", "h1")
    assert page.locator("h1").first.inner_text().startswith("simgate")
    # The search index runs in a worker made from a blob: URL.
    page.fill("input[placeholder='Search...']", "sendsms")
    page.wait_for_selector("[data-role='search:results'] [role=menuitem]")
    assert [p for p in problems if REDOC_LOGO not in p] == []
    page.context.close()
