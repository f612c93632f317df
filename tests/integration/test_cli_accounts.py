"""`simgate accounts` and `simgate keys` on the store of a running server: in
this process through click's runner, and as real processes for the exit codes
and messages of failures."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine

from simgate.config import Settings
from simgate.errors import NotFound
from simgate.services.access_cache import TTL_SECONDS
from simgate.services.accounts import create_account, create_key, list_accounts
from tests.support.cli import run_cli
from tests.support.polling import wait_for
from tests.support.servers import LiveServer, simgate


def sendsms(server: LiveServer, login: str, key: str) -> Any:
    body = {
        "header": {"login": login, "accessKey": key},
        "messages": [{"phone_number": "+33612345678", "message": "hi"}],
    }
    return server.post("/api/v1/sendsms", json=body)


def ok(*args: str, settings: Settings) -> str:
    result = run_cli(*args, settings=settings)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_accounts_and_keys_while_the_server_runs(server: LiveServer, settings: Settings) -> None:
    created = json.loads(ok("accounts", "create", "ops@example.com", "--json", settings=settings))
    assert list(created) == ["login", "access_key"]
    login, first = created["login"], created["access_key"]
    assert login == "ops@example.com" and re.fullmatch(r"sgk_[0-9A-Za-z]{43}", first)
    assert sendsms(server, login, first).status_code == 200

    text = ok(
        "accounts",
        "create",
        "ny@example.com",
        "--timezone",
        "America/New_York",
        "--region",
        "us",
        settings=settings,
    )
    assert "ny@example.com" in text and "America/New_York" in text
    assert re.search(r"access key \(shown once\): sgk_[0-9A-Za-z]{43}", text)

    listing = ok("accounts", "list", settings=settings)
    assert re.search(r"ops@example\.com\tEurope/Paris\tFR", listing)
    assert re.search(r"ny@example\.com\tAmerica/New_York\tUS", listing)

    second = ok("keys", "create", login, settings=settings).strip()
    assert re.fullmatch(r"sgk_[0-9A-Za-z]{43}", second) and second != first
    assert sendsms(server, login, second).status_code == 200

    keys = ok("keys", "list", login, settings=settings)
    lines = keys.strip().splitlines()
    assert len(lines) == 2 and all("active" in line for line in lines)
    assert first not in keys and second not in keys
    first_id = lines[0].split("\t")[0]

    assert "revoked" in ok("keys", "revoke", login, first_id, settings=settings)
    # A key revoked by another process stops within a second (the server
    # remembers a matched key that long: docs/api.md).
    revoked = time.monotonic()
    answer = wait_for(lambda: (r := sendsms(server, login, first)).status_code == 401 and r)
    assert time.monotonic() - revoked < TTL_SECONDS + 0.5
    assert answer.json()["errors"] == ["#102"]
    assert sendsms(server, login, second).status_code == 200


def test_cli_errors(settings: Settings, engine: Engine) -> None:
    # One call per kind of failure, run side by side (each subprocess costs
    # about a second); the validation behind them is tested in process below.
    create_account(engine, "dup@example.com")
    cases: list[tuple[list[str], str]] = [
        (["accounts", "create", "dup@example.com"], "already exists"),
        (["accounts", "create", "tz@example.com", "--timezone", "Mars/Olympus"], "time zone"),
        (["keys", "list", "nobody@example.com"], "nobody@example.com"),
        (["keys", "revoke", "dup@example.com", "999"], "999"),
    ]
    with ThreadPoolExecutor(len(cases)) as pool:
        results = list(pool.map(lambda case: simgate(*case[0], settings=settings), cases))
    for (args, message), result in zip(cases, results, strict=True):
        assert result.returncode == 1, args
        assert message in result.stderr, (args, result.stderr)
    assert [a.email for a in list_accounts(engine)] == ["dup@example.com"]


def test_account_validation(engine: Engine) -> None:
    bad = [
        ({"email": "not-an-email"}, "e-mail"),
        ({"email": "a@example.com", "timezone": "Mars/Olympus"}, "time zone"),
        ({"email": "a@example.com", "region": "XX"}, "region"),
    ]
    for kwargs, message in bad:
        with pytest.raises(ValueError, match=message):
            create_account(engine, **kwargs)
    account, _ = create_account(engine, " a@example.com ", region="gb")
    assert (account.email, account.region) == ("a@example.com", "GB")
    with pytest.raises(NotFound):
        create_key(engine, "b@example.com")
    assert [a.email for a in list_accounts(engine)] == ["a@example.com"]


def test_db_upgrade_and_data_dir(settings: Settings, engine: Engine, tmp_path: Any) -> None:
    assert "up to date" in ok("db", "upgrade", settings=settings)
    if settings.database_url:  # --data-dir is about the embedded store
        return
    other = tmp_path / "elsewhere"
    ok("accounts", "create", "x@example.com", "--data-dir", str(other), settings=settings)
    assert (other / "simgate.db").exists()
    assert list_accounts(engine) == []
