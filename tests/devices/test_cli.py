"""`simgate devices ...` and `simgate device report ...` as a user runs them:
the commands' own code in this process (click's runner), against a real
server on loopback and the test store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import Engine, select

from simgate.config import Settings
from simgate.store.tables import calls, devices, incoming_sms, qualifications
from tests.support.cli import run_cli
from tests.support.polling import wait_for
from tests.support.servers import LiveServer, free_port

pytestmark = pytest.mark.e2e


def device_report(settings: Settings, server_url: str, token: str, *args: str) -> Result:
    """`simgate device report ARGS` as a device with `token` runs it."""
    return run_cli(
        "device", "report", "--server", server_url, "--token", token, *args, settings=settings
    )


def test_devices_add_list_remove_and_report(
    settings: Settings, store: Engine, owner: dict[str, Any]
) -> None:
    added = run_cli(
        "devices",
        "add",
        owner["login"],
        "--name",
        "Office",
        "--rate",
        "20",
        "--json",
        settings=settings,
    )
    assert added.exit_code == 0, added.stderr
    device = json.loads(added.stdout)
    assert device["token"].startswith("sgd_")
    with store.connect() as conn:  # stored hashed, never in clear
        stored = conn.execute(select(devices.c.token_hash)).scalar()
    assert stored and device["token"] not in stored

    with LiveServer(settings) as server:
        for args in (
            ["sms", "--from", "+33698765432", "--text", "Rappel: 50% & plus 🎉"],
            ["call", "--type", "missed_call", "--number", "+33698765432"],
            [
                "call",
                "--type",
                "incoming_call",
                "--number",
                "+33698765432",
                "--duration",
                "00:02:03",
            ],
            ["qualification", "--from", "+33698765432", "--text", "Rappeler demain"],
        ):
            done = device_report(settings, server.url, device["token"], *args)
            assert done.exit_code == 0, done.stderr
        listed = json.loads(
            run_cli("devices", "list", owner["login"], "--json", settings=settings).stdout
        )
        assert listed[0]["name"] == "Office" and listed[0]["rate_per_minute"] == 20

        bad = device_report(
            settings, server.url, "sgd_wrong", "sms", "--from", "+33698765432", "--text", "x"
        )
        assert bad.exit_code == 1 and "invalid or revoked device token" in bad.stderr
        bad = device_report(
            settings,
            server.url,
            device["token"],
            "call",
            "--type",
            "missed_call",
            "--number",
            "+3369",
            "--duration",
            "forever",
        )
        assert bad.exit_code == 1 and "duration" in bad.stderr

        removed = run_cli("devices", "remove", str(device["device_id"]), settings=settings)
        assert removed.exit_code == 0
        gone = device_report(
            settings, server.url, device["token"], "sms", "--from", "+33698765432", "--text", "x"
        )
        assert gone.exit_code == 1 and "invalid or revoked device token" in gone.stderr

    with store.connect() as conn:
        assert conn.execute(select(incoming_sms.c.text)).scalars().all() == [
            "Rappel: 50% & plus 🎉"
        ]
        assert sorted(conn.execute(select(calls.c.kind)).scalars()) == [
            "incoming_call",
            "missed_call",
        ]
        assert conn.execute(select(qualifications.c.text)).scalar() == "Rappeler demain"
    assert run_cli("devices", "list", settings=settings).stdout.strip() == ""
    unknown = run_cli("devices", "add", "nobody@example.com", "--name", "x", settings=settings)
    assert unknown.exit_code == 1 and "no account" in unknown.stderr


def test_device_run_keeps_its_journal_in_the_users_data_directory(tmp_path: Path) -> None:
    elsewhere = tmp_path / "started-here"
    elsewhere.mkdir()
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data-home")}
    token = "sgd_abcdefgh" + "x" * 30
    # No server listens there: the agent keeps retrying, its journal already open.
    agent = subprocess.Popen(
        [sys.executable, "-m", "simgate.cli", "device", "run", "--token", token,
         "--server", f"http://127.0.0.1:{free_port()}"],
        cwd=elsewhere, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        journal = tmp_path / "data-home" / "simgate" / "agent-abcdefgh" / "journal.jsonl"
        wait_for(journal.exists, timeout=30)
    finally:
        agent.kill()
        agent.wait(10)
    assert list(elsewhere.iterdir()) == []
