"""A USB modem end to end, as a user runs it: a real server, a device paired
the documented way, `simgate device run --driver gammu` as a process driving
the fake AT modem (libGammu's real AT driver and PDU codec), and a real HTTP
receiver for the webhooks."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from simgate.config import Settings
from simgate.services.accounts import create_account
from simgate.services.devices import add_device
from simgate.services.webhook_admin import set_callbacks
from simgate.store.db import make_engine, upgrade
from tests.support.gammu_standins import FakeModem
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.webhooks.conftest import Recorder

pytestmark = pytest.mark.e2e
pytest.importorskip(
    "gammu", reason="python-gammu is not installed: pip install 'simgate[gammu]' (the test extra)"
)

REFUSED = "+33612000009"
LONG_UNICODE = "Votre colis arrive demain 📦, merci de confirmer. " * 3


class GammuAgent:
    """`simgate device run --driver gammu` as a real process."""

    def __init__(self, server: str, token: str, folder: Path, gammurc: Path) -> None:
        self.args = [
            sys.executable, "-m", "simgate.cli", "device", "run", "--server", server,
            "--token", token, "--state-dir", str(folder), "--driver", "gammu",
            "--gammu-config", str(gammurc), "--gammu-poll", "0.2",
        ]
        self.log = folder / "agent.log"
        folder.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> GammuAgent:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    settings = Settings(data_dir=tmp_path / "data", allow_private_callbacks=True)
    upgrade(make_engine(settings))
    with LiveServer(settings, max_send_attempts=1) as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[Recorder]:
    rec = Recorder().start()
    yield rec
    rec.stop()


def payloads(recorder: Recorder, kind: str) -> list[dict[str, Any]]:
    found = []
    for request in recorder.acked():
        query = parse_qs(urlsplit(request["target"]).query)
        if kind in query:
            found.append(json.loads(query[kind][0]))
    return found


def statuses(recorder: Recorder, answer: dict[str, Any]) -> list[str]:
    return [p["status"] for p in payloads(recorder, "status")
            if p["id_sms_api"] == answer["id_sms_api"]]


def test_a_modem_end_to_end(live: LiveServer, receiver: Recorder, tmp_path: Path) -> None:
    account, key = create_account(live.engine, "owner@example.com", "Europe/Paris", "FR")
    token = add_device(live.engine, account.email, "USB modem", 6000)[1]
    set_callbacks(live.engine, account.email,
                  {k: receiver.url + "/hook" for k in ("status", "message", "calls")},
                  allow_private=True)
    header = {"login": account.email, "accessKey": key}

    def sendsms(*items: tuple[str, str]) -> list[dict[str, Any]]:
        messages = [{"phone_number": n, "message": m} for n, m in items]
        answer = live.post("/api/v1/sendsms", json={"header": header, "messages": messages})
        assert [a["sent"] for a in answer.json()] == [1] * len(items)
        return list(answer.json())

    modem = FakeModem(tmp_path / "modem")
    modem.refuse(REFUSED)
    modem.unplug_after(1)  # pulled out after the first SMS of the batch
    agent = GammuAgent(live.url, token, tmp_path / "agent", modem.gammurc()).start()
    try:
        short, long, refused = sendsms(
            ("+33612000001", "Bonjour, votre code est 4242"),
            ("+33612000002", LONG_UNICODE),
            (REFUSED, "never leaves"),
        )
        wait_for(modem.unplugged, timeout=30)
        modem.plug_in()  # the rest waited for it
        wait_for(lambda: len(modem.submits()) == 3, timeout=30)  # one short, two long parts
        wait_for(lambda: statuses(receiver, refused) == ["failed"], timeout=30)
        wait_for(lambda: statuses(receiver, short) == statuses(receiver, long) == ["sent"])

        # The network's delivery reports, stored on the SIM; the first twice.
        for reference, submit in modem.submits():
            modem.status_report(reference, submit.number)
        first_reference = modem.submits()[0][0]
        modem.status_report(first_reference, modem.submits()[0][1].number)
        wait_for(lambda: statuses(receiver, short) == statuses(receiver, long)
                 == ["sent", "received"], timeout=30)

        # An SMS arrives; it leaves the SIM once the server has it.
        modem.receive("+33698765432", "Oui, c'est noté [merci] €")
        wait_for(lambda: payloads(receiver, "message"), timeout=30)
        wait_for(lambda: modem.stored() == [], timeout=30)

        # A call rings; click-to-call dials out through the modem.
        modem.ring("+33698765432")
        clic = {"header": {**header, "type": "clicToCall", "phone_number": "+33611111111"}}
        assert live.post("/api/v1/clicTocall", json=clic).json()[0]["result"] == "success"
        wait_for(lambda: modem.dialed() == ["+33611111111"], timeout=30)
        wait_for(lambda: len(payloads(receiver, "calls")) == 2, timeout=30)

        # Restarted, the agent sends nothing again; new work goes out once.
        agent.kill()
        agent = GammuAgent(live.url, token, tmp_path / "agent", modem.gammurc()).start()
        [later] = sendsms(("+33612000003", "after the restart"))
        wait_for(lambda: statuses(receiver, later) == ["sent"], timeout=30)
    finally:
        agent.kill()

    radio: list[str] = []  # each SMS as it went out, its parts joined
    for _, submit in modem.submits():
        if submit.concat and submit.concat[2] > 1:
            radio[-1] += submit.text
        else:
            radio.append(submit.text)
    assert sorted(radio) == sorted(
        ["Bonjour, votre code est 4242", LONG_UNICODE, "after the restart"])
    assert REFUSED not in {s.number for _, s in modem.submits()}
    assert statuses(receiver, short) == ["sent", "received"]  # the duplicate changed nothing

    [sms] = payloads(receiver, "message")
    assert sms["title"] == "incoming_sms" and sms["message"] == "Oui, c'est noté [merci] €"
    calls = {c["title"]: c for c in payloads(receiver, "calls")}
    assert calls["incoming_call"]["phone_number"] == "+33698765432"
    assert calls["outgoing_call"]["phone_number"] == "+33611111111"
