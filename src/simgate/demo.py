"""`simgate serve --demo`: a demo account with a fresh key and password, a
simulated phone, and the lines to paste."""

from __future__ import annotations

import asyncio
import json
import secrets
import shlex
from typing import Any

from sqlalchemy import Engine

from simgate.config import Settings
from simgate.device.agent import Agent
from simgate.device.drivers.simulator import SimulatedPhone
from simgate.device.journal import Journal
from simgate.services.accounts import create_account, create_key
from simgate.services.devices import add_device, list_devices, remove_device
from simgate.workers.supervisor import WorkerRun

DEMO_LOGIN = "demo@simgate.local"
PHONE_NAME = "demo phone"


def prepare(engine: Engine, settings: Settings) -> tuple[str, WorkerRun]:
    """Set up the demo account and phone; returns (text to print, phone worker)."""
    key, password = _demo_account(engine)
    device_id, token = _demo_phone(engine)
    base = settings.local_url()
    text = _instructions(base, key, password, device_id)
    folder = settings.data_dir / f"demo-phone-{device_id}"

    async def run_phone(_app: Any, stop: asyncio.Event) -> None:
        await asyncio.sleep(0.3)  # let the server start listening first
        phone = SimulatedPhone(folder, sent_delay=1.0, delivery_delay=2.0)
        journal = Journal(folder)
        try:
            await Agent(base, token, phone, journal).run(stop)
        finally:
            phone.close()
            journal.close()

    return text, run_phone


def _demo_account(engine: Engine) -> tuple[str, str]:
    """(a fresh access key, a fresh password) of the demo account, made if need be."""
    from simgate.services.passwords import set_password

    try:
        _, key = create_account(engine, DEMO_LOGIN, "Europe/Paris", "FR")
    except ValueError:  # there from an earlier run: keys are shown once, so make a new one
        key = create_key(engine, DEMO_LOGIN)
    password = secrets.token_urlsafe(9)
    set_password(engine, DEMO_LOGIN, password)
    return key, password


def _demo_phone(engine: Engine) -> tuple[int, str]:
    """(device id, token) of a newly paired demo phone; an earlier run's is removed."""
    for old in list_devices(engine, DEMO_LOGIN):
        if old.name == PHONE_NAME:
            remove_device(engine, old.id)
    return add_device(engine, DEMO_LOGIN, PHONE_NAME, rate_per_minute=600)


def _instructions(base: str, key: str, password: str, device_id: int) -> str:
    """The lines to paste: credentials, addresses and a curl that sends an SMS."""
    body = {
        "header": {"login": DEMO_LOGIN, "accessKey": key},
        "messages": [
            {
                "phone_number": "+33612345678",
                "message": "Hello from simgate [Lien_Tracking]",
                "url": "https://example.com/",
                "priorite": 1,
            }
        ],
    }
    curl = (
        f"curl -X POST {base}/api/v1/sendsms -H 'Content-Type: application/json' "
        f"-d {shlex.quote(json.dumps(body))}"
    )
    return "\n".join(
        [
            "",
            "simgate demo",
            f"  login:      {DEMO_LOGIN}",
            f"  access key: {key}",
            f"  password:   {password}   (dashboard: {base}/app/)",
            f"  API docs:   {base}/docs",
            f"  phone:      device {device_id}, simulated: sent after 1 s, delivered after 2 s",
            "",
            "Send an SMS (then see it delivered in the dashboard's Messages page):",
            f"  {curl}",
            "",
            "Or with inSIM's own command-line client, over the v2 API (docs/api-v2.md):",
            f"  pip install insim-cli && INSIM_BASE_URL={base} INSIM_LOGIN={DEMO_LOGIN} "
            f"INSIM_ACCESS_KEY={key} insim whoami",
            "",
        ]
    )
