"""SIM choice and expired messages where people see them: the dashboard's
devices and message pages, and `simgate devices set-sim` / `devices list`
(both stores)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from simgate.domain.dates import utcnow
from simgate.services.accounts import create_account
from simgate.services.devices import add_device, connected, list_devices
from simgate.services.passwords import set_password
from simgate.store.tables import message_events, messages
from tests.support.cli import run_cli
from tests.support.servers import LiveServer
from tests.web.helpers import PASSWORD, csrf_of, signed_in_client


@pytest.fixture
def server(shared_server: LiveServer) -> LiveServer:
    return shared_server


@pytest.fixture
def account(shared_account: dict[str, Any]) -> dict[str, Any]:
    return shared_account


@pytest.fixture
def client(server: LiveServer, account: dict[str, Any]) -> Iterator[httpx.Client]:
    set_password(server.engine, account["login"], PASSWORD)
    with signed_in_client(server.url, account["login"]) as client:
        yield client


def default_sim(server: LiveServer, login: str, device_id: int) -> int | None:
    [row] = [d for d in list_devices(server.engine, login) if d.id == device_id]
    return row.sim_number


def test_the_devices_page_shows_sims_and_sets_the_default(
    client: httpx.Client, server: LiveServer, account: dict[str, Any]
) -> None:
    device_id = add_device(server.engine, account["login"], "dual")[0]
    connected(server.engine, device_id, "node", sims=(1, 2))
    page = client.get("/app/devices").text
    assert '<td class="sims">1, 2</td>' in page and "SIM 2</option>" in page

    def choose(sim: str, target: int = device_id) -> httpx.Response:
        token = csrf_of(client.get("/app/devices").text)
        return client.post(f"/app/devices/{target}/sim", data={"sim": sim, "csrf_token": token})

    assert choose("2").status_code == 303
    assert default_sim(server, account["login"], device_id) == 2
    assert 'value="2" selected' in client.get("/app/devices").text
    assert choose("").status_code == 303
    assert default_sim(server, account["login"], device_id) is None
    assert choose("9").status_code == 400 and choose("x").status_code == 400
    other, _ = create_account(server.engine, f"{secrets.token_hex(4)}@example.com", "UTC", "FR")
    theirs = add_device(server.engine, other.email, "theirs")[0]
    assert choose("1", theirs).status_code == 404
    assert choose("1", 2**31).status_code == 404  # past the column's range
    assert default_sim(server, other.email, theirs) is None


def test_an_expired_message_shows_as_expired(
    client: httpx.Client, server: LiveServer, account: dict[str, Any]
) -> None:
    now = utcnow()
    with server.engine.begin() as conn:
        message_id = conn.execute(
            insert(messages).values(
                account_id=account["id"],
                id_sms_api="exp-" + secrets.token_hex(4),
                request_hash="h",
                phone_number="+33612345678",
                message="stale code",
                priority=1,
                encoding="GSM-7",
                segments=1,
                state="expired",
                send_at=now - timedelta(minutes=5),
                created_at=now - timedelta(minutes=5),
                attempts=0,
                valid_until=now - timedelta(minutes=1),
                failed_at=now,
                fail_reason="its validity ended before a phone took it",
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(message_events).values(
                message_id=message_id,
                at=now,
                state="expired",
                detail="its validity ended before a phone took it",
            )
        )
    detail = client.get(f"/app/messages/{message_id}").text
    assert "state-expired" in detail and "state-failed" not in detail
    assert detail.count("its validity ended before a phone took it") >= 1
    listed = client.get("/app/messages", params={"state": "expired"}).text
    assert "stale code" in listed


def test_devices_set_sim_on_the_command_line(server: LiveServer, account: dict[str, Any]) -> None:
    device_id = add_device(server.engine, account["login"], "cli phone")[0]
    settings = server.settings
    done = run_cli("devices", "set-sim", account["login"], str(device_id), "2", settings=settings)
    assert done.exit_code == 0, done.stderr
    assert "SIM 2" in done.stdout
    listed = run_cli("devices", "list", account["login"], "--json", settings=settings)
    [row] = [d for d in json.loads(listed.stdout) if d["device_id"] == device_id]
    assert row["default_sim"] == 2 and row["sims"] == [1]
    assert (
        run_cli(
            "devices", "set-sim", account["login"], str(device_id), "none", settings=settings
        ).exit_code
        == 0
    )
    assert default_sim(server, account["login"], device_id) is None
    for bad in ("0", "9", "two"):
        refused = run_cli(
            "devices", "set-sim", account["login"], str(device_id), bad, settings=settings
        )
        assert refused.exit_code != 0 and "SIM" in refused.stderr, bad
    missing = run_cli("devices", "set-sim", account["login"], "999999", "1", settings=settings)
    assert missing.exit_code != 0 and "no device" in missing.stderr
