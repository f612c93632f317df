"""The Sending policy page in a real browser (Debian's Chromium): offer the
French operators' rule, save it, see a wrong window refused beside its field.
SQLite only; the page's saving and errors run on both stores in
tests/policy/test_quiet_hours_e2e.py. Its own module (and browser) so that it
merges apart from the other browser tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from simgate.config import Settings
from simgate.services.accounts import create_account, get_account
from simgate.services.passwords import set_password
from simgate.services.policy import get_policy
from simgate.store.db import make_engine, upgrade
from tests.support.servers import ServerProcess
from tests.web.helpers import PASSWORD, signed_in_page

pytestmark = pytest.mark.e2e

LOGIN = "policy@example.com"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Settings]]:
    folder = tmp_path_factory.mktemp("policy")
    settings = Settings(data_dir=folder / "data")
    engine: Engine = make_engine(settings)
    upgrade(engine)
    create_account(engine, LOGIN, "Europe/Paris", "FR")
    set_password(engine, LOGIN, PASSWORD)
    engine.dispose()
    with ServerProcess(settings) as server:
        yield server, settings


def test_set_a_window_and_see_a_bad_one_refused(
    browser: Any, served: tuple[ServerProcess, Settings]
) -> None:
    server, settings = served
    context, page, problems = signed_in_page(browser, server.url, LOGIN, 1400)

    page.click("nav >> text=Sending policy")
    page.wait_for_url(re.compile(r"/app/policy$"))
    assert page.locator("#holds").inner_text().endswith("Nothing holds sending now.")
    assert page.input_value("#windows") == ""

    page.click("text=Use the French operators' rule")
    page.wait_for_load_state()
    assert page.input_value("#windows") == "Mon-Sat 08:00-20:00"
    assert page.is_checked("#skip_holidays")
    page.fill("#hourly_cap", "120")
    page.press("#hourly_cap", "Enter")  # Enter saves (not the French rule's button)
    page.wait_for_url(re.compile(r"/app/policy\?done=saved$"))
    assert page.locator("p.notice").inner_text() == "Sending policy saved."
    assert page.input_value("#windows") == "Mon-Sat 08:00-20:00"

    page.fill("#windows", "Mon-Sat 08:00-20:00; Sun 25:00-26:00")
    page.click("text=Save the policy")
    page.wait_for_load_state()
    error = page.locator("#windows-error")
    assert "is not a time of day" in error.inner_text()
    assert page.get_attribute("#windows", "aria-invalid") == "true"
    assert page.input_value("#windows") == "Mon-Sat 08:00-20:00; Sun 25:00-26:00"
    assert problems == []
    context.close()

    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            account = get_account(conn, LOGIN)
        saved = get_policy(engine, account)
    finally:
        engine.dispose()
    assert str(saved.windows[0]) == "Mon-Sat 08:00-20:00" and saved.skip_holidays
    assert saved.hourly_cap == 120
