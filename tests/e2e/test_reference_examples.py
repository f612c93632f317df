"""The reference's own curl examples, run as written against `simgate serve --demo`.

Only the base URL and the credentials change: the commands go through bash
and the real `curl`, and `sendsms.json` is posted with `-d @sendsms.json`.
The copies below are checked against the reference when it is at hand
(../shared/reference/insim-http-api.md beside the repository).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from simgate.config import Settings
from simgate.store.db import make_engine
from simgate.store.tables import accounts, contacts, devices, messages
from tests.support.servers import ServerProcess
from tests.support.v2 import INSIM

pytestmark = pytest.mark.e2e

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared/reference/insim-http-api.md"
HOSTED = "https://www.insim.app"

SENDSMS_JSON = """\
{
  "header": {
    "login": "your-email@example.com",
    "accessKey": "your-access-key"
  },
  "messages": [
    {
      "phone_number": "+33612345678",
      "message": "Hello from InSim API [Lien_Tracking]",
      "url": "https://example.com/",
      "priorite": 1,
      "date_to_send": "2025-10-29 10:16:10"
    },
    {
      "phone_number": "+33698765432",
      "message": "Test from API",
      "url": "",
      "priorite": 1,
      "date_to_send": "2025-10-29 10:16:10"
    }
  ]
}
"""

SENDSMS_CURL = """\
curl -X POST https://www.insim.app/api/v1/sendsms \\
  -H "Content-Type: application/json" \\
  -d @sendsms.json
"""

CONTACT_CURL = """\
curl -X POST https://www.insim.app/api/v1/contact \\
  -H "Content-Type: application/json" \\
  -d '{
    "header": {
      "login": "your-email@example.com",
      "accessKey": "your-access-key"
    },
    "contacts": [
      {
        "firstname": "John",
        "lastname": "Doe",
        "phone_number": "+33612345678",
        "adress": "",
        "email": ""
      },
      {
        "firstname": "Jane",
        "lastname": "Smith",
        "phone_number": "+33698765432",
        "adress": "123 Peace Street, Paris",
        "email": "jane.smith@example.com"
      }
    ]
  }'
"""

CLICTOCALL_CURL = """\
curl -X POST https://www.insim.app/api/v1/clicTocall \\
  -H "Content-Type: application/json" \\
  -d '{
    "header": {
      "login": "your-email@example.com",
      "accessKey": "your-access-key",
      "type": "clicToCall",
      "phone_number": "+33612345678"
    }
  }'
"""

CONTACT_ANSWER = {
    "data": {
        "contact": [
            {
                "firstname": "John",
                "lastname": "Doe",
                "phonenumber": "+33612345678",
                "adress": "",
                "email": "",
                "result": "success",
            },
            {
                "firstname": "Jane",
                "lastname": "Smith",
                "phonenumber": "+33698765432",
                "adress": "123 Peace Street, Paris",
                "email": "jane.smith@example.com",
                "result": "success",
            },
        ]
    }
}
CALL_SUCCESS = [
    {
        "info": "please make sure the phone is connected and inSIM is running",
        "result": "success",
        "errors": [],
    }
]
SENDSMS_FIELDS = [
    "id_sms_api",
    "sms_per_message",
    "user",
    "sent_time",
    "phone_number",
    "message",
    "sent",
]


def test_copies_match_the_reference() -> None:
    if not REFERENCE.exists():
        pytest.skip(f"reference not found at {REFERENCE}")
    text = REFERENCE.read_text()
    blocks = re.findall(r"```(?:bash|json)\n(.*?)```", text, re.S)
    for copy in (SENDSMS_JSON, SENDSMS_CURL, CONTACT_CURL, CLICTOCALL_CURL):
        assert copy in blocks
    assert json.dumps(CONTACT_ANSWER, indent=2) in text
    assert json.dumps(CALL_SUCCESS, indent=2) in text


class Demo:
    def __init__(
        self, server: ServerProcess, login: str, key: str, workdir: Path, printed: str
    ) -> None:
        self.server, self.login, self.key, self.workdir = server, login, key, workdir
        self.printed = printed

    def personalise(self, text: str) -> str:
        return (
            text.replace(HOSTED, self.server.url)
            .replace("your-email@example.com", self.login)
            .replace("your-access-key", self.key)
        )

    def curl(self, command: str) -> Any:
        result = subprocess.run(
            ["bash", "-c", self.personalise(command)],
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def demo(settings: Settings, tmp_path: Path) -> Iterator[Demo]:
    if shutil.which("curl") is None:
        pytest.fail("curl is needed to run the reference's examples as written")
    with ServerProcess(settings, "--demo") as server:
        printed = Path(server.log_path).read_text()
        login = re.search(r"login:\s+(\S+@\S+)", printed)
        key = re.search(r"access key:\s+(sgk_\w+)", printed)
        assert login and key, printed
        workdir = tmp_path / "client"
        workdir.mkdir()
        yield Demo(server, login.group(1), key.group(1), workdir, printed)


def test_reference_examples(demo: Demo, settings: Settings) -> None:
    # One demo server for the three examples: starting one costs seconds.
    check_sendsms_json_file(demo, settings)
    check_contact_example(demo, settings)
    check_clictocall_example(demo, settings)
    check_printed_curl_line(demo)
    check_printed_insim_line(demo)


def check_printed_curl_line(demo: Demo) -> None:
    # The demo prints a curl line that must work as pasted.
    line = next(x.strip() for x in demo.printed.splitlines() if x.strip().startswith("curl "))
    result = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=30)
    answer = json.loads(result.stdout)
    assert [item["sent"] for item in answer] == [1]


def check_printed_insim_line(demo: Demo) -> None:
    # And a line for inSIM's own client; its package is installed here already,
    # so the part after `pip install insim-cli &&` is run, as printed.
    line = next(x.strip() for x in demo.printed.splitlines() if "insim whoami" in x)
    command = line.split("&&", 1)[1].strip().replace(" insim ", f" {INSIM} --json ")
    result = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"], "HOME": str(demo.workdir)},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["login"] == demo.login


def check_sendsms_json_file(demo: Demo, settings: Settings) -> None:
    (demo.workdir / "sendsms.json").write_text(demo.personalise(SENDSMS_JSON))
    answer = demo.curl(SENDSMS_CURL)
    assert isinstance(answer, list) and len(answer) == 2
    for item in answer:
        assert list(item) == SENDSMS_FIELDS
        assert item["sent"] == 1 and item["sms_per_message"] == 1
        assert item["user"] == demo.login
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", item["sent_time"])
        assert re.fullmatch(r"[0-9A-Za-z]{15}", item["id_sms_api"])
    first, second = answer
    assert first["phone_number"] == "+33612345678"
    assert re.fullmatch(
        rf"Hello from InSim API {re.escape(demo.server.url)}/[0-9A-Za-z]{{10,}}", first["message"]
    )
    assert (second["phone_number"], second["message"]) == ("+33698765432", "Test from API")
    # The 2025 date is past: both went out as "now", and both are on disk.
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            stored = conn.execute(
                select(messages.c.id_sms_api, messages.c.send_at, messages.c.created_at)
                .join(accounts, accounts.c.id == messages.c.account_id)
                .where(accounts.c.email == demo.login)
                .order_by(messages.c.id)
            ).all()
    finally:
        engine.dispose()
    assert [r.id_sms_api for r in stored] == [first["id_sms_api"], second["id_sms_api"]]
    assert all(abs((r.send_at - r.created_at).total_seconds()) < 1 for r in stored)
    # The tracked link answers.
    link = first["message"].rsplit(" ", 1)[1]
    redirect = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", link],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert redirect.stdout == "302 https://example.com/"


def check_contact_example(demo: Demo, settings: Settings) -> None:
    assert demo.curl(CONTACT_CURL) == CONTACT_ANSWER
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(contacts)).scalar_one() == 2
    finally:
        engine.dispose()


def check_clictocall_example(demo: Demo, settings: Settings) -> None:
    # The demo brings a simulated phone: once it is online the reference's
    # success answer comes back word for word.
    engine = make_engine(settings)
    try:
        deadline = time.monotonic() + 20
        while True:
            with engine.connect() as conn:
                online = conn.execute(
                    select(func.count())
                    .select_from(devices)
                    .join(accounts, accounts.c.id == devices.c.account_id)
                    .where(accounts.c.email == demo.login, devices.c.online_node.is_not(None))
                ).scalar_one()
            if online or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        engine.dispose()
    assert online, "the demo phone never came online"
    assert demo.curl(CLICTOCALL_CURL) == CALL_SUCCESS
