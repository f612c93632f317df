"""The Opt-outs page in a real browser (Debian's Chromium): add a number,
see its history, import a file, remove one, export; and the send form says
why a send to an opted-out number was refused. SQLite only (the service and
its queries run on both stores in tests/policy). Its own module so that it
merges apart from the other browser tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from simgate.config import Settings
from simgate.services.accounts import create_account
from simgate.services.passwords import set_password
from simgate.store.db import make_engine, upgrade
from tests.support.servers import ServerProcess
from tests.web.helpers import PASSWORD, csrf_of, signed_in_client, signed_in_page

pytestmark = pytest.mark.e2e

LOGIN = "optouts@example.com"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("optouts")
    settings = Settings(data_dir=folder / "data")
    engine: Engine = make_engine(settings)
    upgrade(engine)
    create_account(engine, LOGIN, "Europe/Paris", "FR")
    set_password(engine, LOGIN, PASSWORD)
    engine.dispose()
    with ServerProcess(settings) as server:
        yield server


def test_add_history_import_remove_and_send(
    browser: Any, served: ServerProcess, tmp_path: Path
) -> None:
    context, page, problems = signed_in_page(browser, served.url, LOGIN, 860)

    page.click("nav >> text=Opt-outs")
    page.wait_for_url(re.compile(r"/app/optouts$"))
    assert page.locator("text=No numbers on the list").is_visible()
    page.fill("#number", "06 12 34 56 78")
    page.fill("#note", "asked on the phone")
    page.click("#optout-add button[type=submit]")
    page.wait_for_url(re.compile(r"done=added"))
    assert "nothing will be sent to it" in page.locator(".notice").inner_text()
    history = page.locator("#history")
    assert "+33612345678" in history.locator("h2").inner_text()
    assert "asked on the phone" in history.inner_text() and "manual" in history.inner_text()
    assert page.locator("#optout-total").inner_text() == "1"

    # A bad number is refused with its reason, the form kept.
    page.fill("#number", "hello")
    page.click("#optout-add button[type=submit]")
    assert "not a valid phone number" in page.locator("#number-error").inner_text()

    listing = tmp_path / "stop-list.csv"
    listing.write_text("number\n0611111111\nnot a number\n+33612345678\n", encoding="utf-8")
    page.set_input_files("#file", str(listing))
    page.click("#optout-import button[type=submit]")
    imported = page.locator("#imported")
    imported.wait_for()
    assert "1 number added, 1 already on the list, 1 refused" in " ".join(
        imported.inner_text().split()
    )
    assert "line 3" in imported.inner_text()
    rows = page.locator("#optouts tbody tr")
    assert rows.count() == 2

    # The send form says why the opted-out number got nothing.
    page.click("nav >> text=Send")
    page.fill("#numbers", "0611111111, 0622222222")
    page.fill("#text", "Hello")
    page.click("form[action='/app/send'] button[type=submit]")
    results = page.locator("#results")
    results.wait_for()
    assert "1 of 2 accepted" in results.inner_text()
    assert "recipient opted out" in results.inner_text()
    assert results.locator("a.opted-out").count() == 1
    page.goto("/app/messages?number=0611111111")
    assert "opted out" in page.locator("#opted-out").inner_text()

    page.goto("/app/optouts?q=%2B3361111")
    row = page.locator("#optouts tbody tr")
    assert row.count() == 1
    row.locator("button:has-text('Remove')").click()
    page.wait_for_url(re.compile(r"done=removed"))
    assert "Not on the list." in page.locator("#history").inner_text()
    assert "removed" in page.locator("#history table").inner_text()
    assert page.locator("#optout-total").inner_text() == "1"
    assert problems == []
    context.close()


def test_export_is_csv_and_forms_need_the_csrf_token(served: ServerProcess) -> None:
    with signed_in_client(served.url, LOGIN) as client:
        form = client.get("/app/optouts")
        token = csrf_of(form.text)
        forged = client.post("/app/optouts/add", data={"number": "+33633333333"})
        assert forged.status_code == 403
        added = client.post(
            "/app/optouts/add", data={"number": "+33633333333", "csrf_token": token}
        )
        assert added.status_code == 303
        exported = client.get("/app/optouts/export.csv")
        assert exported.headers["content-type"].startswith("text/csv")
        lines = exported.text.splitlines()
        assert lines[0] == "number,reason,detail,since"
        assert any(line.startswith("+33633333333,manual,,") for line in lines[1:])
