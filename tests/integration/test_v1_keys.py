"""Access keys: high-entropy, prefixed, stored hashed, never logged, several per account."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from simgate.config import Settings
from simgate.services.accounts import create_key, list_keys, revoke_key
from simgate.store.tables import api_keys
from tests.support.servers import LiveServer

SECRET_TEXT = "Votre code secret est 918273"


def sendsms(server: LiveServer, login: str, key: str) -> Any:
    body = {
        "header": {"login": login, "accessKey": key},
        "messages": [{"phone_number": "+33612345678", "message": SECRET_TEXT}],
    }
    return server.post("/api/v1/sendsms", json=body)


def test_key_format(account: dict[str, Any]) -> None:
    assert re.fullmatch(r"sgk_[0-9A-Za-z]{43}", account["accessKey"])


def test_keys_are_stored_hashed(
    server: LiveServer, account: dict[str, Any], settings: Settings
) -> None:
    second = create_key(server.engine, account["login"])
    assert sendsms(server, account["login"], second).status_code == 200
    with server.engine.connect() as conn:
        stored = [dict(r._mapping) for r in conn.execute(select(api_keys))]
    assert len(stored) == 2
    for key in (account["accessKey"], second):
        assert not any(key in str(value) for row in stored for value in row.values())
        assert not any(key[4:] in str(row["key_hash"]) for row in stored)
    assert all(row["prefix"].startswith("sgk_") and len(row["prefix"]) < 16 for row in stored)
    if settings.database_url is None:  # SQLite: look at the bytes on disk, WAL included
        files = [p for p in Path(settings.data_dir).iterdir() if p.is_file()]
        assert any(p.name.endswith(".db") for p in files)
        for path in files:
            data = path.read_bytes()
            for key in (account["accessKey"], second):
                assert key.encode() not in data and key[10:].encode() not in data, path


def test_no_key_or_body_in_logs(
    server: LiveServer, account: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    good, bad = account["accessKey"], account["accessKey"][:-1] + "X"
    assert sendsms(server, account["login"], good).status_code == 200
    assert sendsms(server, account["login"], bad).status_code == 401
    assert sendsms(server, "nobody@example.com", good).status_code == 401
    header = {"login": account["login"], "accessKey": good}
    server.post(
        "/api/v1/contact",
        json={
            "header": header,
            "contacts": [
                {"firstname": "Privé", "phone_number": "+33698765432", "email": "prive@example.com"}
            ],
        },
    )
    server.post(
        "/api/v1/clicTocall",
        json={"header": {**header, "type": "clicToCall", "phone_number": "+33698765432"}},
    )
    server.post("/api/v1/sendsms", content=b'{"header": {"accessKey": "' + good.encode())
    logged = caplog.text + " ".join(str(vars(r)) for r in caplog.records)
    for secret in (good, bad, good[4:20], SECRET_TEXT, "prive@example.com", "Privé"):
        assert secret not in logged


def test_several_keys_each_revocable(server: LiveServer, account: dict[str, Any]) -> None:
    login, first = account["login"], account["accessKey"]
    second = create_key(server.engine, login)
    assert first != second
    assert sendsms(server, login, first).status_code == 200
    assert sendsms(server, login, second).status_code == 200
    keys = list_keys(server.engine, login)
    assert [k.revoked_at for k in keys] == [None, None]
    revoke_key(server.engine, login, keys[0].id)
    assert sendsms(server, login, first).json()["errors"] == ["#102"]
    assert sendsms(server, login, second).status_code == 200
    with pytest.raises(Exception, match="no active key"):
        revoke_key(server.engine, login, keys[0].id)


def test_login_blanks_are_ignored(server: LiveServer, account: dict[str, Any]) -> None:
    assert sendsms(server, f" {account['login']} ", account["accessKey"]).status_code == 200
