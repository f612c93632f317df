"""A campaign in a real browser, against a real `simgate serve --demo` process:
create it from pasted numbers, start it, and watch its counts reach delivered
as the demo phone (sent after about 1 s, delivered after about 2 s) reports.
SQLite only, like tests/web/test_browser.py; the queries run on both stores
in tests/v2/test_campaigns.py and tests/web/test_campaign_pages.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from simgate.config import Settings
from simgate.demo import DEMO_LOGIN
from simgate.services.passwords import set_password
from simgate.store.db import make_engine
from tests.support.servers import ServerProcess
from tests.web.helpers import PASSWORD, signed_in_page

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("campaigns")
    settings = Settings(data_dir=folder / "data", allow_private_callbacks=True)
    with ServerProcess(settings, "--demo") as server:
        engine = make_engine(settings)
        set_password(engine, DEMO_LOGIN, PASSWORD)
        engine.dispose()
        yield server


def test_create_start_and_watch_a_campaign(browser: Any, demo: ServerProcess) -> None:
    context, page, problems = signed_in_page(browser, demo.url, DEMO_LOGIN, 900)

    page.click("nav >> text=Campaigns")
    page.wait_for_url(re.compile(r"/app/campaigns$"))
    page.click("text=New campaign")
    page.fill("#name", "Spring sale")
    page.fill("#numbers", "+33612345601\n0612345602, 12")
    page.fill("#message", "Spring sale: -20 % this week-end [link]")
    page.fill("#url", "https://example.com/spring")
    page.click("button:has-text('Create campaign')")
    assert page.locator("#count-recipients").inner_text() == "2"
    assert "“12”" in page.locator("#refused").inner_text()
    assert page.locator("#status").inner_text() == "ready"

    page.click("#start")
    page.wait_for_url(re.compile(r"/app/campaigns/\d+\?done=started$"))
    # The counts refresh by themselves (htmx) as the demo phone reports.
    page.locator("#count-delivered", has_text="2").wait_for(timeout=30_000)
    assert page.locator("#count-sent").inner_text() == "2"
    assert page.locator("#count-pending").inner_text() == "0"
    assert page.locator("#status").inner_text() == "completed"

    page.click("nav >> text=Campaigns")
    row = page.locator("tr", has_text="Spring sale")
    assert row.locator("td").nth(4).inner_text() == "2"  # delivered
    assert not problems, problems
    context.close()
