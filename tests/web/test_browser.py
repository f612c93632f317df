"""The dashboard in a real browser, against a real `simgate serve --demo` process.

The demo phone is the simulated device that `serve --demo` connects (sent
after about 1 s, delivered after about 2 s), so a message sent from the form
goes all the way to `received` through the dispatcher and the phone. Runs on
SQLite only; the queries behind the pages run on both stores in
test_dashboard_queries.py. Every test takes a screenshot of its page; with
SIMGATE_SCREENSHOTS=1 they are saved into docs/screenshots/ for the README
(otherwise into a temporary folder of the test process, so that a test run
leaves the tree as it found it).
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, insert, select

from simgate.config import Settings
from simgate.demo import DEMO_LOGIN
from simgate.domain.dates import utcnow
from simgate.domain.sms import count_segments
from simgate.services.passwords import set_password
from simgate.store.db import make_engine
from simgate.store.tables import accounts, calls, devices, messages
from tests.support import http_client
from tests.support.polling import wait_for
from tests.support.servers import ServerProcess
from tests.web.conftest import SCREENSHOTS, Receiver
from tests.web.helpers import PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Engine]]:
    folder = tmp_path_factory.mktemp("dashboard")
    settings = Settings(data_dir=folder / "data", allow_private_callbacks=True)
    with ServerProcess(settings, "--demo") as server:
        engine = make_engine(settings)
        set_password(engine, DEMO_LOGIN, PASSWORD)
        yield server, engine
        engine.dispose()


@pytest.fixture(scope="module")
def page(browser: Any, demo: tuple[ServerProcess, Engine]) -> Iterator[Any]:
    server, _ = demo
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    # Anything the browser complains about (a CSP violation, a script error) fails below.
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.on("console", lambda msg: note_console(page, msg))
    page.goto("/app/login")
    page.fill("#email", DEMO_LOGIN)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/app/$"))
    yield page
    context.close()


@functools.cache
def _scratch() -> Path:
    # This process's own folder: parallel test runs never write the same file.
    return Path(tempfile.mkdtemp(prefix="simgate-screenshots-"))


def note_console(page: Any, msg: Any) -> None:
    # The 4xx answers the tests provoke are logged as "Failed to load resource".
    if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
        page.problems.append(msg.text)


def shot(page: Any, name: str) -> None:
    folder = SCREENSHOTS if os.environ.get("SIMGATE_SCREENSHOTS") == "1" else _scratch()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5000


def account_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(select(accounts.c.id).where(accounts.c.email == DEMO_LOGIN)).scalar_one()
        )


def test_sign_in_refuses_a_wrong_password(browser: Any, demo: tuple[ServerProcess, Engine]) -> None:
    server, _ = demo
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 700})
    page = context.new_page()
    page.goto("/app/messages")  # not signed in: sent to the sign-in form
    page.wait_for_url(re.compile(r"/app/login\?next=/app/messages"))
    page.fill("#email", DEMO_LOGIN)
    page.fill("#password", "wrong password")
    shot(page, "login")
    page.click("button[type=submit]")
    assert page.locator("#password-error").inner_text() == "Wrong e-mail address or password."
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/app/messages$"))
    assert page.locator("h1").inner_text() == "Messages"
    # Sign out: the session ends and pages send back to the sign-in form.
    page.click("text=Sign out")
    page.wait_for_url(re.compile(r"/app/login$"))
    page.goto("/app/keys")
    page.wait_for_url(re.compile(r"/app/login"))
    context.close()


def test_a_form_without_its_csrf_token_is_refused(page: Any) -> None:
    page.goto("/app/keys")
    before = page.locator("table.keys tbody tr").count()
    # Strip the token from the real form, then submit it as a user would.
    page.eval_on_selector_all("input[name=csrf_token]", "els => els.forEach(e => e.remove())")
    page.click("text=Create a key")
    assert "CSRF" in page.locator(".form-error").inner_text()
    # A forged cross-site style POST (cookies attached, no token) is refused too.
    assert page.request.post("/app/keys", form={"x": "1"}).status == 403
    page.goto("/app/keys")
    assert page.locator("table.keys tbody tr").count() == before


def test_send_from_the_form_reaches_delivered(
    page: Any, demo: tuple[ServerProcess, Engine]
) -> None:
    page.goto("/app/send")
    # The live counter mirrors domain/sms.py, character for character.
    samples = [
        "",
        "Hello",
        "a" * 160,
        "a" * 161,
        "€" * 80,
        "€" * 81,
        "é",
        "Ω" * 70,
        "ü" + "x" * 160,
        "日本",
        "😀" * 35,
        "😀" * 36,
        "a" * 152 + "€",
        "\n" * 3,
    ]
    counted = page.evaluate("s => s.map(t => window.simgateCountSms(t))", samples)
    for text, js in zip(samples, counted, strict=True):
        seg = count_segments(text)
        assert (js["encoding"], js["parts"]) == (seg.encoding, seg.parts if text else 0), text
    page.fill("#numbers", "+33612345678")
    page.fill("#text", "Your order is ready: [link]")
    assert page.locator("#counter").inner_text() == "27 characters · GSM-7 · 1 part"
    page.fill("#text", "Ready 😀 " * 10)
    assert page.locator("#counter").inner_text() == "80 characters · UCS-2 · 2 parts"
    page.fill("#text", "Your order is ready: [link]\nSee you soon!")
    page.fill("#url", "https://example.com/orders/42")
    shot(page, "send")
    page.click("form.card button[type=submit]")
    assert page.locator("#results h2").inner_text() == "1 of 1 accepted"
    assert "GSM-7, 1 part" in page.locator(".server-count").inner_text()
    page.click("text=accepted – follow it")
    page.wait_for_url(re.compile(r"/app/messages/\d+$"))
    # htmx polls the timeline; the demo phone reports sent then delivered.
    page.locator("strong.delivered").wait_for(timeout=20_000)
    assert page.locator("#timeline .badge", has_text="sent").count() >= 1
    assert "GSM-7" in page.locator("dl.facts").inner_text()
    _, engine = demo
    with engine.connect() as conn:
        row = conn.execute(select(messages).order_by(messages.c.id.desc())).first()
    assert row is not None and row.state == "received" and row.short_code
    # Two clicks on its tracked link: a person and a chat app's preview bot.
    short = f"{page.url.split('/app/')[0]}/{row.short_code}"
    for agent in ("Mozilla/5.0 (X11; Linux x86_64)", "WhatsApp/2.23.20.0"):
        answer = http_client.get(short, headers={"User-Agent": agent}, follow_redirects=False)
        assert answer.status_code == 302
    page.reload()
    assert page.locator("text=link preview").count() == 1
    assert page.locator("td", has_text="person").count() == 1
    shot(page, "message")
    page.goto("/app/messages?state=received")
    assert page.locator("table.list tbody tr").count() >= 1
    shot(page, "messages")
    page.goto("/app/links")
    assert page.locator(".n-people").inner_text() == "1"
    assert page.locator(".n-previews").inner_text() == "1"
    shot(page, "links")
    page.goto("/app/")
    assert int(page.locator(".n-delivered").first.inner_text()) >= 1
    assert page.locator(".n-online").inner_text().startswith("1 /")
    shot(page, "overview")


def test_qualify_a_call_sends_the_webhook(
    page: Any, demo: tuple[ServerProcess, Engine], receiver: Receiver
) -> None:
    _, engine = demo
    page.goto("/app/webhooks")
    page.fill("#url-qualification", "ftp://example.com/hooks")
    page.click("text=Save URLs")
    assert "http" in page.locator("#qualification-error").inner_text()
    page.fill("#url-qualification", receiver.url + "/hooks?source=simgate")
    page.click("text=Save URLs")
    assert page.locator(".notice").inner_text() == "Callback URLs saved."
    page.click("text=Create a secret")
    assert page.locator("#signing-secret").inner_text().startswith("whsec_")
    owner = account_id(engine)
    now = utcnow()
    with engine.begin() as conn:
        for minutes, kind, number in (
            (30, "missed_call", "+33612345670"),
            (12, "outgoing_call", "+33698765432"),
            (3, "incoming_call", "+33611223344"),
        ):
            conn.execute(
                insert(calls).values(
                    account_id=owner,
                    kind=kind,
                    phone_number=number,
                    call_time=now - timedelta(minutes=minutes),
                    duration="0:02:15",
                )
            )
        call_id = conn.execute(
            select(calls.c.id).where(calls.c.phone_number == "+33611223344")
        ).scalar_one()
    page.goto("/app/calls")
    row = page.locator(f"#call-{call_id}")
    row.locator("button", has_text="Qualify").click()
    assert (
        page.locator(f"#call-{call_id} .field-error").inner_text()
        == "write the qualification first"
    )
    page.fill(f"#qual-{call_id}", "Interested <b>call back</b> Monday")
    page.locator(f"#call-{call_id} button", has_text="Qualify").click()
    assert "Qualification saved" in page.locator(".notice").inner_text()
    assert "Interested <b>call back</b> Monday" in page.locator(f"#call-{call_id}").inner_text()
    shot(page, "calls")
    got = wait_for(lambda: receiver.payloads("qualification"), timeout=20)
    assert got[0]["title"] == "call_qualification_from_interface"
    assert got[0]["qualification"] == "Interested <b>call back</b> Monday"
    assert got[0]["from"] == "+33611223344"
    assert got[0]["device_identification"] == DEMO_LOGIN
    hit = receiver.hits[0]
    assert hit["path"] == "/hooks" and hit["query"]["source"] == "simgate"
    assert "webhook-signature" in {k.lower() for k in hit["headers"]}
    page.goto("/app/webhooks?state=done")
    assert page.locator("table.list tbody tr").count() >= 1
    shot(page, "webhooks")


def test_pair_a_device(page: Any, demo: tuple[ServerProcess, Engine]) -> None:
    _, engine = demo
    page.goto("/app/devices")
    page.fill("#name", "")
    page.fill("#rate", "0")
    page.click("form button:has-text('Pair')")
    assert page.locator("#name-error").inner_text().startswith("Give the phone a name")
    assert page.locator("#rate-error").inner_text().startswith("A whole number")
    page.fill("#name", "Office phone")
    page.fill("#rate", "20")
    page.click("form button:has-text('Pair')")
    token = page.locator("#pair-token").inner_text()
    assert token.startswith("sgd_")
    assert page.locator("#pair-server").inner_text() == page.url.split("/app/")[0]
    assert page.locator(".qr svg path").count() >= 1
    assert page.locator("table.devices", has_text="Office phone").is_visible()
    shot(page, "devices")
    with engine.connect() as conn:
        rate = conn.execute(
            select(devices.c.rate_per_minute).where(devices.c.name == "Office phone")
        ).scalar_one()
    assert rate == 20
    # Shown once: a reload lists the phone but never its token again.
    page.goto("/app/devices")
    assert token not in page.content()


def test_create_and_revoke_a_key(page: Any, demo: tuple[ServerProcess, Engine]) -> None:
    server, _ = demo
    page.goto("/app/keys")
    page.click("text=Create a key")
    key = page.locator("#new-key-value").inner_text()
    assert key.startswith("sgk_")
    body = {
        "header": {"login": DEMO_LOGIN, "accessKey": key},
        "messages": [{"phone_number": "+33612345678", "message": "via the new key"}],
    }
    assert server_post(server, body).status_code == 200
    shot(page, "keys")
    row = page.locator("table.keys tbody tr", has_text=key[:10])
    row.locator("button", has_text="Revoke").click()
    assert page.locator(".notice").inner_text().startswith("Key revoked")
    assert "revoked" in page.locator("table.keys tbody tr", has_text=key[:10]).inner_text()
    assert server_post(server, body).status_code == 401
    assert key not in page.content()


def server_post(server: ServerProcess, body: dict[str, Any]) -> httpx.Response:
    return http_client.post(server.url + "/api/v1/sendsms", json=body, timeout=30)


def test_contacts_import_search_edit_export(page: Any, tmp_path: Path) -> None:
    csv_file = tmp_path / "contacts.csv"
    csv_file.write_text(
        "phone_number;firstname;lastname;email;address\n"
        "0612345678;Ada;Lovelace;ada@example.com;12 rue des Lilas, Paris\n"
        "+33698765432;Alan;Turing;alan@example;\n"
        "not a number;Bad;Row;;\n"
        "0611223344;Grace;Hopper;grace@example.com;\n",
        encoding="utf-8",
    )
    page.goto("/app/contacts")
    page.click("form[action='/app/contacts/import'] button")
    assert page.locator("#file-error").inner_text() == "Choose a CSV file to import."
    page.set_input_files("#file", str(csv_file))
    page.click("form[action='/app/contacts/import'] button")
    imported = page.locator("#imported").inner_text()
    assert "3 contacts imported, 1 refused" in imported and "line 4" in imported
    page.fill("#q", "lovelace")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"/app/contacts\?q=lovelace$"))
    assert page.locator("table.list tbody tr").count() == 1
    page.click("text=Ada Lovelace")
    page.fill("#phone_number", "123")
    page.click("text=Save")
    assert page.locator("#phone_number-error").inner_text() == "not a valid phone number"
    page.fill("#phone_number", "+33612345679")
    page.fill("#firstname", "Augusta Ada")
    page.click("text=Save")
    assert page.locator(".notice").inner_text() == "Contact saved."
    with page.expect_download() as download:
        page.click("text=Export all contacts as CSV")
    exported = Path(download.value.path()).read_text()
    assert "+33612345679,Augusta Ada,Lovelace" in exported
    shot(page, "contacts")
    page.locator("tr", has_text="Grace").locator("button", has_text="Delete").click()
    assert page.locator(".notice").inner_text() == "Contact deleted."
    assert page.locator("tr", has_text="Grace").count() == 0


def test_end_another_browsers_session(
    browser: Any, page: Any, demo: tuple[ServerProcess, Engine]
) -> None:
    server, _ = demo
    context = browser.new_context(base_url=server.url, user_agent="Another browser")
    other = context.new_page()
    other.goto("/app/login")
    other.fill("#email", DEMO_LOGIN)
    other.fill("#password", PASSWORD)
    other.click("button[type=submit]")
    other.wait_for_url(re.compile(r"/app/$"))
    page.goto("/app/sessions")
    row = page.locator("table.sessions tbody tr", has_text="Another browser")
    assert "127.0.0.1" in row.inner_text()
    assert page.locator("table.sessions tbody tr", has_text="this browser").count() == 1
    shot(page, "sessions")
    row.locator("button", has_text="End").click()
    assert page.locator(".notice").inner_text().startswith("Session ended")
    other.goto("/app/keys")
    other.wait_for_url(re.compile(r"/app/login"))
    context.close()


def test_the_browser_reported_no_errors(page: Any) -> None:
    # Runs last: the pages above raised no script error and broke no CSP rule.
    page.goto("/app/")
    page.wait_for_timeout(100)
    assert page.problems == []
