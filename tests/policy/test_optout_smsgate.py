"""STOP received through the SMS Gateway for Android app (its signed
`sms:received` webhook) changes the opt-out list like the agent's frames do,
and the `message` webhook still fires; both stores."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from simgate.services import suppressions
from simgate.services.accounts import create_account
from simgate.services.devices import add_device
from simgate.services.webhook_admin import set_callbacks
from tests.devices.test_phone_webhooks import payloads
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.support.smsgate_app import FakeApp
from tests.webhooks.conftest import Recorder

pytestmark = pytest.mark.e2e


@pytest.fixture
def receiver() -> Iterator[Recorder]:
    rec = Recorder().start()
    yield rec
    rec.stop()


def test_stop_through_the_app_webhook(shared_server: LiveServer, receiver: Recorder) -> None:
    live = shared_server
    email = f"{secrets.token_hex(5)}@example.com"
    account, _ = create_account(live.engine, email, "Europe/Paris", "FR")
    set_callbacks(live.engine, email, {"message": receiver.url + "/hook"}, allow_private=True)
    token = add_device(live.engine, email, "phone", 6000, kind="smsgate")[1]
    app = FakeApp(live.url + "/api/mobile/v1", token)
    try:
        # Registered and synced as on start; no event stream (nothing to send here).
        app.register().raise_for_status()
        app.sync()
        assert app.receive_sms("+33698765432", "Désabonner.").is_success
        wait_for(lambda: payloads(receiver, "message"))
        [sms] = payloads(receiver, "message")
        assert sms["message"] == "Désabonner."
        number, entry = suppressions.check(live.engine, account, "06 98 76 54 32")
        assert entry is not None and entry.reason == "keyword" and entry.detail == "Désabonner."
        assert app.receive_sms("+33698765432", "Arrêt stop").is_success
        wait_for(lambda: len(payloads(receiver, "message")) == 2)
        assert suppressions.check(live.engine, account, number)[1] is None
        assert app.problems == []
    finally:
        app.close()
