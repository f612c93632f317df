"""The smpp sender end to end, as a user runs it: a real server, an account with
real webhook receivers, `simgate device run --driver smpp` as a process bound
to the SMSC simulator (tests/smsc_sim, independent of our SMPP code), which
acks submits, sends receipts, fails numbers ending 666, injects MO, throttles
and drops the connection on command. One server, one agent and one simulator
for the module; each test uses its own numbers."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from simgate.config import Settings
from simgate.services.accounts import create_account
from simgate.services.devices import add_device
from simgate.services.webhook_admin import set_callbacks
from simgate.store.db import make_engine, upgrade
from simgate.store.tables import messages
from tests.support.phone_agents import AgentProcess, payloads, statuses
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.support.smsc import PASSWORD, SYSTEM_ID, SmscSimulator
from tests.webhooks.conftest import Recorder

pytestmark = pytest.mark.e2e

SENDER = "SimGate"
GSM = "Code 4242 @ £ € {ok} _$"
LONG = ("Votre rendez-vous est confirmé pour demain à 10h. " * 8).strip()  # 3 parts of 153
UNICODE = "Merci pour votre commande 📦, à bientôt 😀"


@dataclass
class Setup:
    live: LiveServer
    sim: SmscSimulator
    receiver: Recorder
    owner: dict[str, str]
    agent: AgentProcess

    def send(self, *items: tuple[str, str]) -> list[str]:
        """POST /sendsms; the id_sms_api of each message."""
        body = {
            "header": self.owner,
            "messages": [{"phone_number": n, "message": m} for n, m in items],
        }
        answers = self.live.post("/api/v1/sendsms", json=body).json()
        assert [a["sent"] for a in answers] == [1] * len(items), answers
        return [a["id_sms_api"] for a in answers]

    def submits_to(self, number: str) -> list[dict[str, Any]]:
        return [s for s in self.sim.submits() if s["destination_addr"] == number.lstrip("+")]

    def arrived(self, number: str) -> list[dict[str, Any]]:
        """What the simulator reassembled for `number`."""
        return [m for m in self.sim.messages() if m["destination_addr"] == number.lstrip("+")]


@pytest.fixture(scope="module")
def setup(smsc_process: SmscSimulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    sim = smsc_process
    sim.reset()
    folder = tmp_path_factory.mktemp("smpp-e2e")
    settings = Settings(data_dir=folder / "data", allow_private_callbacks=True)
    upgrade(make_engine(settings))
    receiver = Recorder().start()
    with LiveServer(settings, max_send_attempts=1) as live:
        email = f"{secrets.token_hex(4)}@example.com"
        account, key = create_account(live.engine, email, "Europe/Paris", "FR")
        token = add_device(live.engine, email, "smsc", 60000)[1]
        hooks = {kind: receiver.url + "/hook" for kind in ("status", "message", "calls")}
        set_callbacks(live.engine, email, hooks, allow_private=True)
        flags = ["--driver", "smpp", "--smpp-host", "127.0.0.1"]
        flags += ["--smpp-port", str(sim.smpp_port), "--smpp-system-id", SYSTEM_ID]
        flags += ["--smpp-password", PASSWORD, "--smpp-source-addr", SENDER]
        agent = AgentProcess(live.url, token, folder / "agent", *flags).start()
        try:
            wait_for(lambda: sim.health()["bound"], timeout=20)
            yield Setup(live, sim, receiver, {"login": email, "accessKey": key}, agent)
        except BaseException:
            print(agent.log())
            raise
        finally:
            agent.kill()
            receiver.stop()


def test_gsm_long_and_unicode_messages_arrive_whole_and_are_received(setup: Setup) -> None:
    numbers = ["+33612100001", "+33612100002", "+33612100003"]
    ids = setup.send(*zip(numbers, [GSM, LONG, UNICODE], strict=True))
    for number, text in zip(numbers, [GSM, LONG, UNICODE], strict=True):
        wait_for(lambda n=number: setup.arrived(n), timeout=20)
        [message] = setup.arrived(number)
        assert message["text"] == text
    assert len(setup.submits_to(numbers[1])) == 3
    for submit in setup.sim.submits():
        assert (submit["source_addr_ton"], submit["source_addr_npi"]) == (5, 0)
        assert submit["source_addr"] == SENDER
        assert (submit["dest_addr_ton"], submit["dest_addr_npi"]) == (1, 1)
        assert submit["registered_delivery"] == 1
    [gsm] = setup.submits_to(numbers[0])
    assert gsm["data_coding"] == 0 and gsm["esm_class"] == 0
    assert {s["data_coding"] for s in setup.submits_to(numbers[2])} == {8}
    for sms_id in ids:  # one receipt per part: received once all parts are
        wait_for(lambda i=sms_id: statuses(setup.receiver, i) == ["sent", "received"], timeout=20)


def test_an_undeliverable_number_ends_failed_with_the_smscs_reason(setup: Setup) -> None:
    [sms_id] = setup.send(("+33612100666", "never reaches the handset"))
    wait_for(lambda: statuses(setup.receiver, sms_id) == ["sent", "failed"], timeout=20)
    with setup.live.engine.connect() as conn:
        reason = conn.execute(
            select(messages.c.fail_reason).where(messages.c.id_sms_api == sms_id)
        ).scalar_one()
    assert reason.startswith("UNDELIV (err 001)"), reason


def test_an_incoming_sms_reaches_the_message_webhook_once_even_when_redelivered(
    setup: Setup,
) -> None:
    # The SMSC missing our deliver_sm_resp (lost with the connection) sends the
    # same deliver_sm again on the next bind: the same SMS. The same text sent
    # twice on one connection is two SMS: a person may well answer "Oui" twice.
    assert setup.sim.mo("33698765432", SENDER, "Oui, c'est noté 👍", lose_ack=True)
    # Queued if the link is down for that lost answer: sent on the next bind.
    setup.sim.mo("33698765433", SENDER, "Stop @ 5€")

    def incoming() -> list[dict[str, Any]]:
        return payloads(setup.receiver, "message")

    wait_for(lambda: len(incoming()) >= 2, timeout=20)
    wait_for(lambda: all(d["state"] == "acked" for d in setup.sim.mos()), timeout=20)
    redelivered = next(m for m in setup.sim.mos() if m["text"].startswith("Oui"))
    assert len(redelivered["resp_statuses"]) == 2  # answered twice, the first answer lost
    for _ in range(2):  # one after the other on one connection (or both queued for the next)
        setup.sim.mo("33698765434", SENDER, "Oui")
    wait_for(lambda: len(incoming()) >= 4, timeout=20)
    got = sorted((sms["from"], sms["message"]) for sms in incoming())
    assert got == [
        ("+33698765432", "Oui, c'est noté 👍"),
        ("+33698765433", "Stop @ 5€"),
        ("+33698765434", "Oui"),
        ("+33698765434", "Oui"),
    ]


def test_a_dropped_link_rebinds_and_every_message_goes_exactly_once(setup: Setup) -> None:
    """The SMSC takes ten submits (the window) and the link drops before it
    answers: the usual loss, answers and not submits (smpp.md §4, §9). Those
    ten are never submitted again, the rest go after the rebind."""
    numbers = [f"+336122000{i:02d}" for i in range(30)]
    before = len(setup.sim.submits())
    setup.sim.configure(resp_delay_ms=3000)
    ids = setup.send(*[(n, f"batch message {i}") for i, n in enumerate(numbers)])
    wait_for(lambda: len(setup.sim.submits()) == before + 10, timeout=20, every=0.005)
    assert setup.sim.health()["max_inflight"] == 10  # the window, all on the SMSC's side
    setup.sim.configure(resp_delay_ms=0)
    assert setup.sim.disconnect() >= 1
    for sms_id in ids:
        wait_for(lambda i=sms_id: "sent" in statuses(setup.receiver, i), timeout=30)
    for i, number in enumerate(numbers):
        assert len(setup.submits_to(number)) == 1, number
        [message] = setup.arrived(number)
        assert message["text"] == f"batch message {i}"
    # Those whose answer the drop lost have ids we never learned: no receipt
    # can be matched to them, and they stay `sent` (docs/smpp.md).
    unanswered = {s["destination_addr"] for s in setup.sim.submits()[before : before + 10]}
    for number, sms_id in zip(numbers, ids, strict=True):
        if number.lstrip("+") not in unanswered:
            wait_for(
                lambda i=sms_id: statuses(setup.receiver, i) == ["sent", "received"], timeout=20
            )
    assert all(
        statuses(setup.receiver, i)[-1] == "sent"
        for i, n in zip(ids, numbers, strict=True)
        if n.lstrip("+") in unanswered
    )


def test_throttling_is_retried_until_every_message_goes(setup: Setup) -> None:
    setup.sim.reject(0x58, count=3)  # ESME_RTHROTTLED
    numbers = [f"+336123000{i:02d}" for i in range(4)]
    ids = setup.send(*[(n, f"throttled {i}") for i, n in enumerate(numbers)])
    for sms_id in ids:
        wait_for(lambda i=sms_id: statuses(setup.receiver, i) == ["sent", "received"], timeout=30)
    for i, number in enumerate(numbers):
        [message] = setup.arrived(number)
        assert message["text"] == f"throttled {i}"
        assert len(setup.submits_to(number)) == 1


def test_an_agent_killed_mid_batch_sends_nothing_twice_after_its_restart(setup: Setup) -> None:
    """Killed (-9) with ten submits unanswered and the rest of the batch
    waiting in its journal: restarted on the same state folder, it submits
    none of them again and sends the rest."""
    numbers = [f"+336124000{i:02d}" for i in range(30)]
    before = len(setup.sim.submits())
    setup.sim.configure(resp_delay_ms=3000)
    ids = setup.send(*[(n, f"restart {i}") for i, n in enumerate(numbers)])
    wait_for(lambda: len(setup.sim.submits()) == before + 10, timeout=20, every=0.005)
    setup.agent.kill()
    setup.sim.configure(resp_delay_ms=0)
    setup.agent.start()
    for sms_id in ids:
        wait_for(lambda i=sms_id: "sent" in statuses(setup.receiver, i), timeout=30)
    for number in numbers:
        assert len(setup.submits_to(number)) == 1, number


def test_ctrl_c_and_sigterm_unbind_before_the_agent_exits(setup: Setup) -> None:
    """Last in the module: it stops the module's agent (twice)."""
    unbinds = setup.sim.health()["unbind_received"]
    assert setup.agent.interrupt() == 0
    assert setup.sim.health()["unbind_received"] == unbinds + 1
    setup.agent.start()  # systemd and docker stop it with SIGTERM
    wait_for(lambda: setup.sim.health()["bound"] >= 1, timeout=20)
    assert setup.agent.terminate() == 0
    assert setup.sim.health()["unbind_received"] == unbinds + 2
