"""The termux sender end to end, as a user runs it on a phone: a real server,
an account and a device paired with the command line, `simgate device run
--driver termux` as a process with fake Termux:API programs on its PATH, a
real webhook receiver. The agent runs under the import guard of a Termux
phone (tests/support/agent_closure.py): only the packages docs/phones/termux.md
installs, no compiled extension outside the standard library."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from tests.devices.conftest import post
from tests.support.agent_closure import in_stdlib, is_compiled
from tests.support.phone_agents import REPO, AgentProcess, account_with_phone, payloads, statuses
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.support.termux_fake import FakeTermux
from tests.webhooks.conftest import Recorder

pytestmark = pytest.mark.e2e

TERMUX_DOC = REPO / "docs" / "phones" / "termux.md"
ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ANDROID_FAILS = "+33699999999"  # Android files SMS to it as failed


@pytest.fixture
def receiver() -> Iterator[Recorder]:
    rec = Recorder().start()
    yield rec
    rec.stop()


def documented_packages() -> list[Requirement]:
    """The second `pip install` line of the Termux install steps."""
    [line] = re.findall(r'^pip install ("[^\n]+)$', TERMUX_DOC.read_text(), re.M)
    return [Requirement(r) for r in re.findall(r'"([^"]+)"', line)]


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(requirements: list[Requirement]) -> set[str]:
    """The distributions these requirements install, their own included."""
    found: set[str] = set()
    todo = list(requirements)
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = normal(req.name)
        if name in found:
            continue
        found.add(name)
        todo.extend(Requirement(r) for r in metadata.requires(req.name) or [])
    return found


def test_the_termux_install_lists_pure_python_base_dependencies() -> None:
    base = {str(Requirement(r)) for r in metadata.requires("simgate") or [] if "extra" not in r}
    documented = documented_packages()
    assert documented and all(str(r) in base for r in documented)
    # The server's dependencies are not among them, nor needed by them.
    assert not closure(documented) & {"fastapi", "sqlalchemy", "pydantic", "uvicorn", "orjson"}


def closure_spec(folder: Path) -> tuple[Path, set[str]]:
    """The guard's spec for a phone with the documented packages; and the
    distributions only the server needs."""
    allowed = closure(documented_packages()) | {"simgate"}
    server_only = closure([Requirement(r) for r in metadata.requires("simgate") or []]) - allowed
    spec = folder / "closure.json"
    report = str(folder / "report.json")
    spec.write_text(json.dumps({"allowed": sorted(allowed), "report": report}))
    return spec, server_only


def check_closure(report_path: Path, server_only: set[str]) -> None:
    """Nothing compiled outside the standard library, nothing of the server,
    loaded or even tried."""
    report: dict[str, Any] = json.loads(report_path.read_text())
    compiled = {m: f for m, f in report["loaded"].items() if is_compiled(f) and not in_stdlib(f)}
    assert compiled == {}

    def of_the_server(modules: dict[str, list[str]]) -> list[str]:
        return [m for m, owners in modules.items() if {normal(o) for o in owners} & server_only]

    assert of_the_server(report["owners"]) == []
    assert of_the_server(report["refused"]) == []
    assert "simgate.device.drivers.termux" in report["loaded"]


def test_the_agent_starts_on_pure_python_packages_alone(tmp_path: Path) -> None:
    """Quick, and without a server: the agent starts, its driver runs a
    round, Ctrl-C stops it cleanly."""
    fake = FakeTermux(tmp_path / "termux")
    spec, server_only = closure_spec(tmp_path)
    closed = "http://127.0.0.1:9"  # nothing listens: the agent retries meanwhile
    flags = ["--driver", "termux", "--termux-poll", "0.2"]
    agent = AgentProcess(closed, "sgd_x", tmp_path / "agent", *flags, env=fake.env(), closure=spec)
    agent.start()
    try:
        wait_for(lambda: fake.calls("termux-call-log") or agent.exited())
    finally:
        code = agent.interrupt()
    assert code == 0, agent.log()
    check_closure(tmp_path / "report.json", server_only)
    assert fake.calls("termux-wake-lock") and fake.calls("termux-wake-unlock")


def test_a_termux_phone_end_to_end(
    shared_server: LiveServer, tmp_path: Path, receiver: Recorder
) -> None:
    live = shared_server
    fake = FakeTermux(tmp_path / "termux", utc_offset=timedelta(hours=7))
    with fake.change() as state:
        state["fail_numbers"] = [ANDROID_FAILS]
    phone = account_with_phone(live, receiver)
    owner = {"login": phone["login"], "accessKey": phone["accessKey"]}
    spec, server_only = closure_spec(tmp_path)
    flags = ["--driver", "termux", "--termux-poll", "0.3", "--termux-timeout", "2"]
    flags += ["--termux-confirm", "2"]
    env = {**fake.env(), "TZ": "ICT-7"}  # the phone's zone, +07:00, as the fake's

    def agent() -> AgentProcess:
        folder = tmp_path / "agent"
        return AgentProcess(live.url, phone["token"], folder, *flags, env=env, closure=spec)

    first = agent().start()
    try:
        # An SMS Android sends, and one it files as failed (tried again, up to 3 times).
        sent, refused = post(
            live.url,
            owner,
            [
                {"phone_number": "+33612345678", "message": "Votre code : 1234"},
                {"phone_number": ANDROID_FAILS, "message": "will fail"},
            ],
        )
        wait_for(lambda: statuses(receiver, refused["id_sms_api"]) == ["failed"], timeout=40)
        wait_for(lambda: statuses(receiver, sent["id_sms_api"]) == ["sent"], timeout=20)

        # An SMS arrives, a call is missed, a click-to-call dials.
        fake.receive_sms("+33698765432", "Oui, d'accord 👍")
        fake.log_call("+33698765432", "MISSED", "00:00")
        header = {**owner, "type": "clicToCall", "phone_number": "0611223344"}
        [dialled] = live.post("/api/v1/clicTocall", json={"header": header}).json()
        assert dialled["result"] == "success", dialled
        wait_for(
            lambda: len(payloads(receiver, "calls")) == 2 and payloads(receiver, "message"),
            timeout=20,
        )

        # termux-sms-send hangs (the Termux:API app gone): the agent gives up
        # waiting, claims nothing, and a restart does not send it again.
        fake.fault("termux-sms-send", "hang")
        [stuck] = post(live.url, owner, [{"phone_number": "+33622222222", "message": "stuck"}])
        wait_for(lambda: "stuck" in [c["stdin"] for c in fake.calls("termux-sms-send")])
    finally:
        first.kill()
    fake.fault("termux-sms-send", None)
    second = agent().start()
    try:
        [more] = post(live.url, owner, [{"phone_number": "+33633333333", "message": "after"}])
        wait_for(lambda: statuses(receiver, more["id_sms_api"]) == ["sent"], timeout=20)
    finally:
        code = second.interrupt()
    assert code == 0, second.log()

    # What Android sent: each SMS once, none twice, the stuck one never.
    on_air = [sms["text"] for sms in fake.on_air()]
    assert sorted(on_air) == ["Votre code : 1234", "after"]
    sends = [c["stdin"] for c in fake.calls("termux-sms-send")]
    assert sends.count("Votre code : 1234") == 1 and sends.count("stuck") == 1
    assert sends.count("will fail") == 3  # one per attempt: Android said it failed
    # Termux cannot see delivery reports: `sent` is the last word, never `received`.
    assert statuses(receiver, sent["id_sms_api"]) == ["sent"]
    assert statuses(receiver, stuck["id_sms_api"]) == []
    [sms] = payloads(receiver, "message")
    assert sms["message"] == "Oui, d'accord 👍" and sms["device_identification"] == phone["login"]
    assert ISO_MS_Z.match(sms["date"])
    # The phone's zone (+07:00, no offset in Termux's output) was undone.
    received_at = datetime.fromisoformat(sms["date"].replace("Z", "+00:00"))
    assert abs(received_at - datetime.now(UTC)) < timedelta(minutes=2)
    calls = {c["title"]: c for c in payloads(receiver, "calls")}
    assert set(calls) == {"missed_call", "outgoing_call"}
    assert calls["missed_call"]["phone_number"] == "+33698765432"
    assert calls["outgoing_call"]["phone_number"] == "+33611223344"
    assert calls["outgoing_call"]["duration"] == "00:00:07"
    assert [c["argv"][1:] for c in fake.calls("termux-telephony-call")] == [["+33611223344"]]
    assert fake.calls("termux-wake-unlock")  # released at Ctrl-C

    # The agent's dependency closure, as loaded on the second run.
    check_closure(tmp_path / "report.json", server_only)
