"""Lists in a real browser (Debian's Chromium): create a list, add a contact
to it by number, see it counted. SQLite only; the pages' queries run on both
stores in test_crm_pages.py. Its own module (and browser) so that it merges
apart from test_browser.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from simgate.config import Settings
from simgate.services.accounts import create_account
from simgate.services.contacts import upsert_contacts
from simgate.services.passwords import set_password
from simgate.store.db import make_engine, upgrade
from tests.support.servers import ServerProcess
from tests.web.helpers import PASSWORD, signed_in_page

pytestmark = pytest.mark.e2e

LOGIN = "lists@example.com"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("lists")
    settings = Settings(data_dir=folder / "data")
    engine: Engine = make_engine(settings)
    upgrade(engine)
    account, _ = create_account(engine, LOGIN, "Europe/Paris", "FR")
    set_password(engine, LOGIN, PASSWORD)
    upsert_contacts(
        engine,
        account,
        [{"firstname": "Cécile", "lastname": "Dubois", "phone_number": "0612345678"}],
    )
    engine.dispose()
    with ServerProcess(settings) as server:
        yield server


def test_create_a_list_and_add_a_contact(browser: Any, served: ServerProcess) -> None:
    context, page, problems = signed_in_page(browser, served.url, LOGIN, 860)

    page.click("nav >> text=Lists")
    page.wait_for_url(re.compile(r"/app/lists$"))
    assert page.locator("text=No lists yet.").is_visible()
    page.fill("#name", "Clients")
    page.fill("#description", "Paying customers")
    page.click("text=Create the list")
    page.wait_for_url(re.compile(r"/app/lists/\d+\?done=created$"))
    assert page.locator("h1").inner_text() == "Clients"
    assert page.locator("text=No contacts in this list.").is_visible()

    page.fill("#phone_number", "06 12 34 56 78")
    page.click("form[action$='/add'] button[type=submit]")
    page.wait_for_url(re.compile(r"\?done=added$"))
    assert page.locator("#members").inner_text().count("Cécile Dubois") == 1

    page.click("text=← Lists")
    row = page.locator("table.list tbody tr")
    assert row.count() == 1 and "Clients" in row.inner_text() and "1" in row.inner_text()
    assert problems == []
    context.close()
