"""The smsgate-local sender end to end, as a user runs it: a real server, an
account and a device paired with the command line, `simgate device run
--driver smsgate-local --phone-url ...` as a process, the SMS Gateway app's
local server played by tests/support/smsgate_local_phone.py, a real webhook
receiver. The app misbehaves throughout: lost answers, stale and repeated
states, a refused send, a radio failure, an undeliverable SMS, the phone gone
mid-batch, the agent killed mid-flight."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.devices.conftest import post
from tests.support.phone_agents import AgentProcess, account_with_phone, payloads, statuses
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.support.smsgate_local_phone import FakeSmsGateApp
from tests.webhooks.conftest import Recorder

pytestmark = pytest.mark.e2e

REFUSED, FAILS_ONCE, UNDELIVERABLE = "+33600000001", "+33600000002", "+33600000003"


@pytest.fixture
def receiver() -> Iterator[Recorder]:
    rec = Recorder().start()
    yield rec
    rec.stop()


@pytest.fixture
def app() -> Iterator[FakeSmsGateApp]:
    with FakeSmsGateApp(step=0.03) as fake:
        yield fake


def test_an_smsgate_local_phone_end_to_end(
    shared_server: LiveServer, tmp_path: Path, receiver: Recorder, app: FakeSmsGateApp
) -> None:
    live = shared_server
    app.stale_reads = 0.3
    app.drop_answers = 1
    app.refuse[REFUSED] = (400, "phoneNumbers is empty")
    app.radio_fails[FAILS_ONCE] = ["Send result: RESULT_ERROR_GENERIC_FAILURE"]
    app.undeliverable[UNDELIVERABLE] = "Delivery result from SC +33600: 65"
    phone = account_with_phone(live, receiver)
    owner = {"login": phone["login"], "accessKey": phone["accessKey"]}
    flags = ["--driver", "smsgate-local", "--phone-url", app.url, "--phone-user", app.user]
    flags += ["--phone-password", app.password, "--smsgate-poll", "0.05"]
    flags += ["--smsgate-inbox-poll", "0.1"]

    def agent() -> AgentProcess:
        return AgentProcess(live.url, phone["token"], tmp_path / "agent", *flags).start()

    first = agent()
    try:
        answers = post(
            live.url,
            owner,
            [
                {"phone_number": "+33612345678", "message": "Bonjour 👋"},
                {"phone_number": REFUSED, "message": "refused"},
                {"phone_number": FAILS_ONCE, "message": "second try"},
                {"phone_number": UNDELIVERABLE, "message": "undeliverable"},
            ],
        )
        expected = [["received", "sent"], ["failed"], ["received", "sent"], ["failed", "sent"]]

        def settled() -> bool:
            return [sorted(statuses(receiver, a["id_sms_api"])) for a in answers] == expected

        wait_for(settled, timeout=30)
        app.receive("+33698765432", "Oui, d'accord 👍")
        wait_for(lambda: payloads(receiver, "message"), timeout=20)

        # The phone leaves the Wi-Fi in the middle of a batch, and comes back.
        batch = [{"phone_number": f"+3361100000{n}", "message": f"batch {n}"} for n in range(4)]
        app.stop()
        batch_answers = post(live.url, owner, batch)
        wait_for(lambda: "does not answer" in first.log(), timeout=20)
        app.start()
        wait_for(
            lambda: all(statuses(receiver, a["id_sms_api"]) for a in batch_answers), timeout=30
        )

        # The agent is killed while the app holds SMS it has not sent yet.
        app.paused = True
        held = post(live.url, owner, [{"phone_number": "+33622222222", "message": "held"}])
        wait_for(lambda: app.states_of("+33622222222") == ["Pending"], timeout=20)
    finally:
        first.kill()
    app.paused = False
    second = agent()
    try:
        wait_for(lambda: sorted(statuses(receiver, held[0]["id_sms_api"])) == ["received", "sent"])
    finally:
        assert second.interrupt() == 0, second.log()

    # On the air: each SMS once (the refused one never, the failed one once, on
    # its second attempt), whatever the app and the network did.
    texts = sorted(sms["text"] for sms in app.radio)
    assert texts == sorted(
        ["Bonjour 👋", "second try", "undeliverable", "held", *(f"batch {n}" for n in range(4))]
    )
    for answer in batch_answers:
        assert sorted(statuses(receiver, answer["id_sms_api"])) == ["received", "sent"]
    assert [p["message"] for p in payloads(receiver, "message")] == ["Oui, d'accord 👍"]
    assert all("textMessage" in p and "message" not in p for p in app.posts)
    assert all(p["withDeliveryReport"] is True for p in app.posts)
