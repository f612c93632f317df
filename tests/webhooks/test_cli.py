"""The webhook commands against the test store.

Most calls run the command in-process (click's runner: the same code, without
a second of start-up each); a few run `simgate` as a real process to show the
installed command line works end to end.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import update

from simgate.config import Settings
from simgate.domain import payloads
from simgate.store.db import make_engine
from simgate.store.tables import webhooks
from tests.support.cli import run_cli as run
from tests.support.servers import simgate
from tests.webhooks.conftest import emit, make_account, rows

WHEN = datetime(2026, 3, 1, 12, 30, 15)
EMAIL = "cli@example.com"




def test_set_show_clear_and_refuse_callback_urls(settings: Settings) -> None:
    engine = make_engine(settings)
    make_account(engine, EMAIL)
    out = simgate(
        "accounts", "webhooks", EMAIL,
        "--message", "https://hooks.example.com/sms?token=1",
        "--status", "http://127.0.0.1:9/dlr",
        settings=settings,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(None, 1) for line in out.stdout.splitlines())
    assert lines == {
        "message": "https://hooks.example.com/sms?token=1",
        "calls": "-",
        "clics": "-",
        "qualification": "-",
        "status": "http://127.0.0.1:9/dlr",
    }
    shown = run("accounts", "webhooks", EMAIL, settings=settings)
    assert shown.exit_code == 0 and shown.stdout == out.stdout
    cleared = run("accounts", "webhooks", EMAIL, "--status", "", settings=settings)
    assert "status        -" in cleared.stdout
    for bad, why in [
        ("ftp://example.com/", "http:// or https://"),
        ("https://example.com/#x", "fragment"),
        ("http://exa mple.com/", "spaces"),
    ]:
        out2 = run("accounts", "webhooks", EMAIL, "--calls", bad, settings=settings)
        assert out2.exit_code == 1 and why in out2.stderr and "--calls" in out2.stderr
    private = run(
        "accounts", "webhooks", EMAIL, "--calls", "http://2130706433/",
        settings=settings, env={"SIMGATE_ALLOW_PRIVATE_CALLBACKS": "false"},
    )  # fmt: skip
    assert private.exit_code == 1 and "loopback" in private.stderr
    unknown = run("accounts", "webhooks", "nobody@example.com", settings=settings)
    assert unknown.exit_code == 1 and "no account" in unknown.stderr
    engine.dispose()


def test_secret_list_and_replay(settings: Settings) -> None:
    engine = make_engine(settings)
    account = make_account(engine, EMAIL, message="http://127.0.0.1:9/")
    first = run("accounts", "webhook-secret", EMAIL, settings=settings).stdout.strip()
    again = run("accounts", "webhook-secret", EMAIL, settings=settings).stdout.strip()
    rotated = run("accounts", "webhook-secret", EMAIL, "--rotate", settings=settings)
    assert first.startswith("whsec_") and first == again
    assert rotated.stdout.strip().startswith("whsec_") and rotated.stdout.strip() != first

    # Two deliveries that died, one pending (no server runs: nothing is sent).
    for n in range(3):
        emit(engine, account, "message", payloads.incoming_sms(EMAIL, "+336", f"m{n}", WHEN))
    dead_ids = [r.id for r in rows(engine)][:2]
    with engine.begin() as conn:
        conn.execute(
            update(webhooks)
            .where(webhooks.c.id.in_(dead_ids))
            .values(state="dead", attempts=12, last_status=500, last_error="HTTP 500")
        )
    listed = simgate("webhooks", "list", EMAIL, "--state", "dead", "--json", settings=settings)
    items = [json.loads(line) for line in listed.stdout.splitlines()]
    assert sorted(i["id"] for i in items) == sorted(dead_ids)
    assert all(i["state"] == "dead" and i["last_error"] == "HTTP 500" for i in items)
    assert "payload" not in items[0] and "m0" not in listed.stdout  # never the payloads
    plain = run("webhooks", "list", EMAIL, settings=settings)
    assert len(plain.stdout.splitlines()) == 3 and "pending" in plain.stdout

    one = run("webhooks", "replay", str(dead_ids[0]), settings=settings)
    assert one.exit_code == 0 and f"replaying {dead_ids[0]}" in one.stdout
    rest = run("webhooks", "replay", "--dead", EMAIL, settings=settings)
    assert "replaying 1 dead" in rest.stdout
    assert all(r.state == "pending" and r.attempts == 0 for r in rows(engine))

    # Replaying a kind whose URL was cleared is refused, and skipped in bulk.
    with engine.begin() as conn:
        conn.execute(update(webhooks).values(state="dead"))
    run("accounts", "webhooks", EMAIL, "--message", "", settings=settings)
    refused = run("webhooks", "replay", str(dead_ids[0]), settings=settings)
    assert refused.exit_code == 1 and "no message callback URL" in refused.stderr
    skipped = run("webhooks", "replay", "--dead", EMAIL, settings=settings)
    assert "replaying 0 dead" in skipped.stdout and "skipped 3" in skipped.stderr

    assert run("webhooks", "replay", settings=settings).exit_code == 2
    both = run("webhooks", "replay", "1", "--dead", EMAIL, settings=settings)
    assert both.exit_code == 2
    missing = run("webhooks", "replay", "999999", settings=settings)
    assert missing.exit_code == 1 and "no webhook" in missing.stderr
    assert run("webhooks", "list", EMAIL, "--state", "lost", settings=settings).exit_code == 2
    engine.dispose()


def test_replay_scoped_to_an_account(settings: Settings) -> None:
    import pytest

    from simgate.errors import NotFound
    from simgate.services.webhook_admin import replay

    engine = make_engine(settings)
    mine = make_account(engine, "mine@example.com", message="http://127.0.0.1:9/")
    other = make_account(engine, "other@example.com", message="http://127.0.0.1:9/")
    event = emit(engine, other, "message", payloads.incoming_sms("o@e.x", "+336", "x", WHEN))
    with pytest.raises(NotFound):
        replay(engine, event, account_id=mine)
    assert replay(engine, event, account_id=other).event_id == event
    engine.dispose()
