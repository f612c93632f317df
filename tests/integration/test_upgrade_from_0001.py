"""`simgate db upgrade` on a store made by the first migration keeps every row
(issue 15, docs/operations.md "Upgrading"), on SQLite and PostgreSQL.

The store is migrated to 0001 and filled through that schema as reflected
then (every table, every column), the way the first release wrote it; then the command
line upgrades it to head, every row reads back the same, and a server on it
takes the old account's key and follows the old message's tracked link.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Engine, MetaData, insert, select

from simgate.config import Settings
from simgate.store.db import alembic_config, head_revision, schema_revision, upgrade
from tests.support.cli import run_cli
from tests.support.servers import LiveServer

T0 = datetime(2025, 3, 1, 9, 30, 0)
KEY = "k" * 40  # the account's access key, as the first release hashed it
DEVICE_TOKEN = "d" * 40
LATER = T0 + timedelta(days=3650)  # a message still to send, long after the test

ROWS_0001: dict[str, list[dict[str, Any]]] = {
    "accounts": [
        {
            "id": 1, "email": "old@example.com", "timezone": "Europe/Paris", "region": "FR",
            "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g",
            "webhook_message": "https://crm.example.com/in", "webhook_calls": None,
            "webhook_clics": "https://crm.example.com/clics", "webhook_qualification": None,
            "webhook_status": "https://crm.example.com/dlr", "webhook_secret": "s" * 64,
            "created_at": T0,
        },
    ],
    "api_keys": [
        {
            "id": 1, "account_id": 1, "prefix": KEY[:10],
            "key_hash": hashlib.sha256(KEY.encode()).hexdigest(), "created_at": T0,
            "revoked_at": None,
        },
        {
            "id": 2, "account_id": 1, "prefix": "r" * 10,
            "key_hash": hashlib.sha256(b"revoked").hexdigest(), "created_at": T0,
            "revoked_at": T0 + timedelta(days=1),
        },
    ],
    "contacts": [
        {
            "id": 1, "account_id": 1, "phone_number": "+33612345678", "firstname": "Ada",
            "lastname": "Lovelace", "address": "1 rue de la Paix", "email": "ada@example.com",
            "created_at": T0, "updated_at": T0 + timedelta(hours=1),
        },
    ],
    "devices": [
        {
            "id": 1, "account_id": 1, "name": "office phone",
            "token_hash": hashlib.sha256(DEVICE_TOKEN.encode()).hexdigest(),
            "rate_per_minute": 10, "created_at": T0, "last_seen_at": T0 + timedelta(hours=2),
            "online_node": None, "removed_at": None,
        },
    ],
    "webhooks": [
        {
            "id": 1, "event_id": "evt-0001-a", "account_id": 1, "kind": "status",
            "url": "https://crm.example.com/dlr", "payload": '{"status": "sent"}',
            "state": "done", "attempts": 1, "next_attempt_at": T0, "claimed_until": None,
            "last_status": 200, "last_error": None, "created_at": T0,
            "done_at": T0 + timedelta(seconds=1),
        },
        {
            "id": 2, "event_id": "evt-0001-b", "account_id": 1, "kind": "message",
            "url": "https://crm.example.com/in", "payload": '{"text": "hi"}', "state": "dead",
            "attempts": 12, "next_attempt_at": T0, "claimed_until": None, "last_status": 500,
            "last_error": "HTTP 500", "created_at": T0, "done_at": T0 + timedelta(days=2),
        },
    ],
    "calls": [
        {
            "id": 1, "account_id": 1, "device_id": 1, "kind": "incoming_call",
            "phone_number": "+33698765432", "call_time": T0, "duration": "00:01:05",
        },
    ],
    "incoming_sms": [
        {
            "id": 1, "account_id": 1, "device_id": 1, "from_number": "+33698765432",
            "text": "Oui, merci", "received_at": T0 + timedelta(minutes=5),
        },
    ],
    "messages": [
        {
            "id": 1, "account_id": 1, "id_sms_api": "AAAAAAAAAAAAAA1", "request_hash": "h1",
            "phone_number": "+33612345678", "message": "Voir http://x/abcdefghij",
            "url": "https://example.com/offer", "short_code": "abcdefghij", "priority": 1,
            "encoding": "GSM-7", "segments": 1, "state": "received", "send_at": T0,
            "created_at": T0, "attempts": 1, "device_id": 1, "lease_until": None,
            "dispatched_at": T0 + timedelta(seconds=1), "sent_at": T0 + timedelta(seconds=2),
            "delivered_at": T0 + timedelta(seconds=9), "failed_at": None, "fail_reason": None,
        },
        {
            "id": 2, "account_id": 1, "id_sms_api": "AAAAAAAAAAAAAA2", "request_hash": "h2",
            "phone_number": "+33612345679", "message": "Échec", "url": None, "short_code": None,
            "priority": 2, "encoding": "UCS-2", "segments": 1, "state": "failed", "send_at": T0,
            "created_at": T0, "attempts": 3, "device_id": 1, "lease_until": None,
            "dispatched_at": T0, "sent_at": None, "delivered_at": None,
            "failed_at": T0 + timedelta(minutes=1), "fail_reason": "generic failure",
        },
        {
            "id": 3, "account_id": 1, "id_sms_api": "AAAAAAAAAAAAAA3", "request_hash": "h3",
            "phone_number": "+33612345670", "message": "Plus tard", "url": None,
            "short_code": None, "priority": 1, "encoding": "GSM-7", "segments": 1,
            "state": "scheduled", "send_at": LATER, "created_at": T0, "attempts": 0,
            "device_id": None, "lease_until": None, "dispatched_at": None, "sent_at": None,
            "delivered_at": None, "failed_at": None, "fail_reason": None,
        },
    ],
    "link_clicks": [
        {
            "id": 1, "message_id": 1, "clicked_at": T0 + timedelta(minutes=3),
            "user_agent": "Mozilla/5.0", "ip": "203.0.113.9", "is_preview": False,
        },
        {
            "id": 2, "message_id": 1, "clicked_at": T0 + timedelta(minutes=2),
            "user_agent": "WhatsApp/2", "ip": None, "is_preview": True,
        },
    ],
    "message_events": [
        {
            "id": 1, "message_id": 1, "at": T0 + timedelta(seconds=2), "state": "sent",
            "device_id": 1, "detail": None,
        },
        {
            "id": 2, "message_id": 2, "at": T0 + timedelta(minutes=1), "state": "failed",
            "device_id": 1, "detail": "generic failure",
        },
    ],
    "qualifications": [
        {
            "id": 1, "account_id": 1, "call_id": 1, "source": "mobile",
            "from_number": "+33698765432", "text": "Intéressé", "created_at": T0,
        },
    ],
}  # fmt: skip


def test_db_upgrade_from_the_first_migration_keeps_every_row(
    old_store: Engine, tmp_path: Path
) -> None:
    command.upgrade(alembic_config(old_store), "0001")
    schema_0001 = MetaData()
    schema_0001.reflect(old_store, only=list(ROWS_0001))
    tables = schema_0001.tables
    # Every column of the first schema is written: nothing left to defaults.
    assert {name: list(tables[name].c.keys()) for name in ROWS_0001} == {
        name: list(rows[0]) for name, rows in ROWS_0001.items()
    }
    with old_store.begin() as conn:
        for name, rows in ROWS_0001.items():  # in the order of their foreign keys
            conn.execute(insert(tables[name]), rows)
    if old_store.dialect.name == "postgresql":  # explicit ids left the sequences behind
        with old_store.begin() as conn:
            for name in ROWS_0001:
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT max(id) FROM {name}))"
                )
    settings = Settings(
        data_dir=tmp_path, database_url=old_store.url.render_as_string(hide_password=False)
    )

    result = run_cli("db", "upgrade", settings=settings)
    assert result.exit_code == 0, result.output
    assert schema_revision(old_store) == head_revision()
    if old_store.dialect.name == "sqlite":
        # Migrations turn foreign keys off for their table rebuilds: on again after.
        upgrade(old_store)
        with old_store.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with old_store.connect() as conn:
        for name, rows in ROWS_0001.items():
            stored = conn.execute(select(tables[name]).order_by(tables[name].c.id)).mappings().all()
            assert [dict(row) for row in stored] == rows, name

    with LiveServer(settings) as server:
        header = {"login": "old@example.com", "accessKey": KEY}
        answer = server.post(
            "/api/v1/sendsms",
            json={"header": header, "messages": [{"phone_number": "+33612345678", "message": "x"}]},
        )
        assert answer.status_code == 200 and answer.json()[0]["sent"] == 1, answer.text
        link = server.get("/abcdefghij", follow_redirects=False)
        assert link.status_code in (301, 302, 307), link.text
        assert link.headers["location"] == "https://example.com/offer"
