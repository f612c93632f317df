"""Retention on both stores: the pruning worker of a real server, `simgate prune`,
and dead webhooks kept until their time (docs/retention.md)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update

from simgate.config import Settings
from simgate.domain.dates import utcnow
from simgate.services import retention
from simgate.services.accounts import create_account
from simgate.services.webhook_admin import replay
from simgate.store.tables import (
    accounts,
    dashboard_sessions,
    device_refs,
    devices,
    message_events,
    messages,
    send_counts,
    webhooks,
)
from tests.integration.conftest import message_row
from tests.support.cli import run_cli as run
from tests.support.polling import wait_for
from tests.support.servers import LiveServer

DAY = timedelta(days=1)
# Every kind of row, by name, with its age and whether the defaults prune it.
WEBHOOKS = {  # name: (state, days since done, or since created when pending)
    "done-31d": ("done", 31),
    "done-29d": ("done", 29),
    "dead-91d": ("dead", 91),
    "dead-89d": ("dead", 89),  # past the 30 days of delivered ones, not the 90 of dead ones
    "pending-200d": ("pending", 200),
}
PRUNED_WEBHOOKS = {"done-31d", "dead-91d"}


def seed(engine: Engine, now: datetime, extra_done: int = 0) -> int:
    """One row of each kind named above (plus `extra_done` more delivered ones due);
    returns the account id."""
    account, _ = create_account(engine, "retention@example.com", "UTC", "FR")
    with engine.begin() as conn:
        conn.execute(
            update(accounts)
            .where(accounts.c.id == account.id)
            .values(webhook_status="http://127.0.0.1:9/status")
        )
        device_id = conn.execute(
            insert(devices).values(
                account_id=account.id,
                name="phone",
                token_hash="t" * 64,
                rate_per_minute=10,
                created_at=now - 400 * DAY,
            )
        ).inserted_primary_key[0]
        hooks = [
            _webhook(account.id, name, state, now - days * DAY)
            for name, (state, days) in WEBHOOKS.items()
        ]
        hooks += [
            _webhook(account.id, f"extra-{i}", "done", now - 40 * DAY) for i in range(extra_done)
        ]
        conn.execute(insert(webhooks), hooks)
        conn.execute(
            insert(device_refs),
            [
                {"device_id": device_id, "ref": "ref-31d", "created_at": now - 31 * DAY},
                {"device_id": device_id, "ref": "ref-29d", "created_at": now - 29 * DAY},
            ],
        )
        for name, state, days in [
            ("received-181d", "received", 181),
            ("failed-179d", "failed", 179),
            ("queued-181d", "queued", 181),  # still in flight: its retry events steer dispatch
        ]:
            message_id = conn.execute(
                insert(messages).values(**_message(account.id, name, state, now - days * DAY))
            ).inserted_primary_key[0]
            conn.execute(
                insert(message_events).values(
                    message_id=message_id,
                    at=now - days * DAY,
                    state="retry",
                    device_id=device_id,
                    detail=name,
                )
            )
        conn.execute(
            insert(dashboard_sessions),
            [
                _session(account.id, "expired", now - DAY),
                _session(account.id, "live", now + DAY),
            ],
        )
        conn.execute(
            insert(send_counts),
            [
                {"account_id": account.id, "hour": _hour(now - 3 * DAY), "count": 5},
                {"account_id": account.id, "hour": _hour(now - DAY), "count": 7},
            ],
        )
    return account.id


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _webhook(account_id: int, name: str, state: str, at: datetime) -> dict[str, Any]:
    return {
        "event_id": name,
        "account_id": account_id,
        "kind": "status",
        "url": "http://127.0.0.1:9/status",
        "payload": "{}",
        "state": state,
        "attempts": 1,
        # Pending rows are not due for sending while the test runs.
        "next_attempt_at": at if state != "pending" else utcnow() + DAY,
        "created_at": at,
        "done_at": at if state != "pending" else None,
    }


def _message(account_id: int, name: str, state: str, at: datetime) -> dict[str, Any]:
    return message_row(account_id, name, state=state, send_at=at, created_at=at, attempts=1)


def _session(account_id: int, name: str, expires_at: datetime) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "token_hash": name,
        "created_at": expires_at - 14 * DAY,
        "last_seen_at": expires_at - 14 * DAY,
        "expires_at": expires_at,
    }


def left(engine: Engine) -> dict[str, set[str]]:
    """The names of the rows still stored, per table."""
    with engine.connect() as conn:
        return {
            "webhooks": set(conn.execute(select(webhooks.c.event_id)).scalars()),
            "device_refs": set(conn.execute(select(device_refs.c.ref)).scalars()),
            "message_events": set(conn.execute(select(message_events.c.detail)).scalars()),
            "messages": set(conn.execute(select(messages.c.id_sms_api)).scalars()),
            "sessions": set(conn.execute(select(dashboard_sessions.c.token_hash)).scalars()),
            "send_counts": {
                f"{n}-sent" for n in conn.execute(select(send_counts.c.count)).scalars()
            },
        }


SEEDED = {
    "webhooks": set(WEBHOOKS),
    "device_refs": {"ref-31d", "ref-29d"},
    "message_events": {"received-181d", "failed-179d", "queued-181d"},
    "messages": {"received-181d", "failed-179d", "queued-181d"},
    "sessions": {"expired", "live"},
    "send_counts": {"5-sent", "7-sent"},  # 3 days and 1 day old
}
KEPT = {
    "webhooks": set(WEBHOOKS) - PRUNED_WEBHOOKS,
    "device_refs": {"ref-29d"},
    "message_events": {"failed-179d", "queued-181d"},
    "messages": SEEDED["messages"],  # history is never pruned
    "sessions": {"live"},
    "send_counts": {"7-sent"},
}


def test_the_worker_prunes_what_is_due_and_keeps_the_rest(
    settings: Settings, engine: Engine
) -> None:
    seed(engine, utcnow(), extra_done=6)
    # Small batches: the 7 due delivered webhooks take 4 of them.
    small = {"retention_batch_rows": 2, "retention_store_share": 1.0}
    with LiveServer(settings, **small) as live:
        wait_for(lambda: left(live.engine) == KEPT, timeout=20)


def test_dead_webhooks_are_kept_until_their_time_or_replayed(
    settings: Settings, engine: Engine
) -> None:
    now = utcnow()
    account_id = seed(engine, now)
    with engine.begin() as conn:
        conn.execute(insert(webhooks), [_webhook(account_id, "dead-120d", "dead", now - 120 * DAY)])
    replay(engine, "dead-120d")  # pending again: kept, whatever its age

    def prune(at: datetime) -> dict[str, int | None]:
        removed = asyncio.run(retention.prune(engine, settings, at, asyncio.Event()))
        return {target.name: n for target, n in removed.items()}

    assert prune(now)["webhooks_dead"] == 1
    assert left(engine)["webhooks"] == {"done-29d", "dead-89d", "pending-200d", "dead-120d"}
    assert prune(now + DAY)["webhooks_dead"] == 0  # 90 days old: still kept
    assert prune(now + 2 * DAY)["webhooks_dead"] == 1
    assert left(engine)["webhooks"] == {"pending-200d", "dead-120d"}




def test_prune_command_dry_run_then_for_real(settings: Settings, engine: Engine) -> None:
    seed(engine, utcnow())
    refs_kept = {"SIMGATE_RETENTION_DEVICE_REFS_DAYS": "0"}

    dry = run("prune", "--dry-run", settings=settings, env=refs_kept)
    assert dry.exit_code == 0, dry.output
    lines = dry.output.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "delivered webhooks",
        "dead webhooks",
        "device report refs",
        "message events",
        "expired dashboard sessions",
        "hourly send counts",
    ]
    assert lines[0].startswith("delivered webhooks: 1 to delete (delivered before ")
    assert lines[2] == "device report refs: kept (retention off)"
    assert "message events: 1 to delete" in dry.output
    assert "hourly send counts: 1 to delete (counted before " in dry.output
    assert left(engine) == SEEDED  # a dry run deletes nothing

    done = run("prune", settings=settings, env=refs_kept)
    assert done.exit_code == 0, done.output
    assert "delivered webhooks: 1 deleted" in done.output
    assert "dead webhooks: 1 deleted" in done.output
    assert left(engine) == {**KEPT, "device_refs": SEEDED["device_refs"]}

    again = run("prune", "--dry-run", settings=settings)
    assert "device report refs: 1 to delete" in again.output
    assert "delivered webhooks: 0 to delete" in again.output


def test_prune_command_refuses_bad_settings(settings: Settings) -> None:
    bad = run("prune", settings=settings, env={"SIMGATE_RETENTION_BATCH_ROWS": "0"})
    assert bad.exit_code == 2
    assert "SIMGATE_RETENTION_BATCH_ROWS" in bad.output
    assert "greater than or equal to 1" in bad.output
