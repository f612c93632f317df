"""The webhook commands, run as `simgate ...` processes against the test store."""

from __future__ import annotations

import json
from datetime import datetime

from simgate.config import Settings
from simgate.domain import payloads
from simgate.store.db import make_engine
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
    cleared = simgate("accounts", "webhooks", EMAIL, "--status", "", settings=settings)
    assert "status        -" in cleared.stdout
    for bad, why in [
        ("ftp://example.com/", "http:// or https://"),
        ("https://example.com/#x", "fragment"),
    ]:
        out = simgate("accounts", "webhooks", EMAIL, "--calls", bad, settings=settings)
        assert out.returncode == 1 and why in out.stderr and "--calls" in out.stderr
    private = simgate(
        "accounts", "webhooks", EMAIL, "--calls", "http://2130706433/",
        settings=settings, env={"SIMGATE_ALLOW_PRIVATE_CALLBACKS": "false"},
    )  # fmt: skip
    assert private.returncode == 1 and "loopback" in private.stderr
    unknown = simgate("accounts", "webhooks", "nobody@example.com", settings=settings)
    assert unknown.returncode == 1 and "no account" in unknown.stderr
    engine.dispose()


def test_secret_list_and_replay(settings: Settings) -> None:
    engine = make_engine(settings)
    account = make_account(engine, EMAIL, message="http://127.0.0.1:9/")
    first = simgate("accounts", "webhook-secret", EMAIL, settings=settings).stdout.strip()
    again = simgate("accounts", "webhook-secret", EMAIL, settings=settings).stdout.strip()
    rotated = simgate("accounts", "webhook-secret", EMAIL, "--rotate", settings=settings)
    assert first.startswith("whsec_") and first == again
    assert rotated.stdout.strip().startswith("whsec_") and rotated.stdout.strip() != first

    # Two deliveries that died, one pending (no server runs: nothing is sent).
    for n in range(3):
        emit(engine, account, "message", payloads.incoming_sms(EMAIL, "+336", f"m{n}", WHEN))
    dead_ids = [r.id for r in rows(engine)][:2]
    from sqlalchemy import update

    from simgate.store.tables import webhooks

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
    plain = simgate("webhooks", "list", EMAIL, settings=settings)
    assert len(plain.stdout.splitlines()) == 3 and "pending" in plain.stdout

    one = simgate("webhooks", "replay", str(dead_ids[0]), settings=settings)
    assert one.returncode == 0 and f"replaying {dead_ids[0]}" in one.stdout
    rest = simgate("webhooks", "replay", "--dead", EMAIL, settings=settings)
    assert "replaying 1 dead" in rest.stdout
    assert all(r.state == "pending" and r.attempts == 0 for r in rows(engine))

    assert simgate("webhooks", "replay", settings=settings).returncode == 2
    missing = simgate("webhooks", "replay", "999999", settings=settings)
    assert missing.returncode == 1 and "no webhook" in missing.stderr
    bad_state = simgate("webhooks", "list", EMAIL, "--state", "lost", settings=settings)
    assert bad_state.returncode == 2
    engine.dispose()
