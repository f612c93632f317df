"""The SMS Gateway for Android app in private-server mode, end to end.

A real server (one per store for the module), an account with its callback
URLs on a real receiver, the device paired as the docs say, and the fake app
(tests/support/smsgate_app.py, written from the reference) doing what the app
does: sendsms through the v1 API → the app receives it → its states come back →
the documented status webhooks; an incoming SMS → the `message` webhook. Then
the faults: duplicate and late reports, a refused send, a phone gone in the
middle of a batch, a hand-over never taken, forged signatures.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed

from simgate.cli import main
from simgate.config import Settings
from simgate.services.accounts import create_account
from simgate.services.devices import add_device, remove_device
from simgate.services.passwords import set_password
from simgate.services.webhook_admin import set_callbacks
from simgate.store.tables import incoming_sms, message_events, messages
from tests.conftest import ENGINES, _store_settings
from tests.devices.conftest import numbered
from tests.devices.test_phone_webhooks import payloads
from tests.support import http_client
from tests.support.phone_agents import status_events
from tests.support.polling import wait_for
from tests.support.postgres import PostgresCluster
from tests.support.servers import LiveServer, settings_env, simgate
from tests.support.smsgate_app import FakeApp
from tests.support.sockets import Sockets
from tests.web.helpers import PASSWORD, csrf_of, signed_in_client
from tests.webhooks.conftest import Recorder

pytestmark = pytest.mark.e2e
ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LEASE = 3.0  # seconds: short, so that a hand-over never taken comes back soon


@pytest.fixture(scope="module", params=ENGINES)
def live(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres: PostgresCluster | None,
    postgres_template: str | None,
    sqlite_template: Path,
) -> Iterator[LiveServer]:
    """One server per store for the module; each test makes its own account."""
    data_dir = tmp_path_factory.mktemp("smsgate") / "data"
    stores = _store_settings(request.param, data_dir, postgres, postgres_template, sqlite_template)
    for settings in stores:
        # A keep-alive every 0.5 s, so that streams notice a removed device fast.
        with LiveServer(
            settings, heartbeat_seconds=0.5, lease_seconds=LEASE, dispatch_sweep_seconds=0.2
        ) as server:
            yield server


@pytest.fixture
def receiver() -> Iterator[Recorder]:
    rec = Recorder().start()
    yield rec
    rec.stop()


@pytest.fixture
def owner(live: LiveServer, receiver: Recorder) -> dict[str, Any]:
    email = f"{secrets.token_hex(5)}@example.com"
    account, key = create_account(live.engine, email, "Europe/Paris", "FR")
    urls = {kind: receiver.url + "/hook" for kind in ("status", "message")}
    set_callbacks(live.engine, email, urls, allow_private=True)
    return {"login": email, "accessKey": key, "id": account.id}


@pytest.fixture
def apps() -> Iterator[list[FakeApp]]:
    started: list[FakeApp] = []
    yield started
    for app in started:
        app.close()


def pair_app(live: LiveServer, owner: dict[str, Any]) -> str:
    return add_device(live.engine, owner["login"], "phone", 6000, kind="smsgate")[1]


def new_app(
    live: LiveServer, owner: dict[str, Any], apps: list[FakeApp], **options: Any
) -> FakeApp:
    app = FakeApp(live.url + "/api/mobile/v1", pair_app(live, owner), **options)
    apps.append(app)
    return app


def send(live: LiveServer, owner: dict[str, Any], items: list[dict[str, Any]]) -> list[str]:
    header = {"login": owner["login"], "accessKey": owner["accessKey"]}
    answers = live.post("/api/v1/sendsms", json={"header": header, "messages": items}).json()
    assert all(a["sent"] == 1 for a in answers), answers
    return [a["id_sms_api"] for a in answers]


def rows(live: LiveServer, account_id: int) -> list[Any]:
    with live.engine.connect() as conn:
        return list(conn.execute(select(messages).where(messages.c.account_id == account_id)))


def sent_once(*apps: FakeApp) -> Counter[str]:
    """How many times each message (by simgate id) went on the radio, all phones together."""
    return Counter(command.split(".")[0] for app in apps for command, _, _ in app.sent)


def test_an_app_paired_from_the_command_line_sends_receives_and_reports(
    live: LiveServer, owner: dict[str, Any], receiver: Recorder, apps: list[FakeApp]
) -> None:
    added = simgate(
        "devices", "add", owner["login"], "--name", "Pixel", "--kind", "smsgate", "--json",
        settings=live.settings, env={"SIMGATE_PUBLIC_URL": live.url},
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    pairing = json.loads(added.stdout)
    assert pairing["api_url"] == live.url + "/api/mobile/v1"
    assert pairing["private_token"].startswith("sgp_") and pairing["kind"] == "smsgate"

    app = FakeApp(pairing["api_url"], pairing["private_token"])
    apps.append(app)
    app.start()
    assert app.login == owner["login"] and app.device_id == str(pairing["device_id"])
    assert app.settings == {
        "gateway": {"notification_channel": "SSE_ONLY"},
        "webhooks": {"signing_key": app.signing_key},
    }
    assert {h["event"] for h in app.webhooks} == {"sms:received", "system:ping"}
    assert app.stream_opened.wait(10)

    ids = send(live, owner, numbered(3))
    wait_for(lambda: all(status_events(receiver).get(i) == ["sent", "received"] for i in ids))
    assert sorted(sent_once(app).values()) == [1, 1, 1]
    for payload in payloads(receiver, "status"):
        assert set(payload) == {"user", "phone_number", "status", "date_status", "id_sms_api"}
        assert payload["user"] == owner["login"] and ISO_MS_Z.match(payload["date_status"])

    # An SMS arrives on the phone; the app retries the same delivery: stored once.
    first = app.receive_sms("+33698765432", "Oui, 100% d'accord 👍", delivery_id="Ey6ECgOkVVFjz3CL")
    again = app.receive_sms("+33698765432", "Oui, 100% d'accord 👍", delivery_id="Ey6ECgOkVVFjz3CL")
    assert first.is_success and again.is_success
    wait_for(lambda: payloads(receiver, "message"))
    [sms] = payloads(receiver, "message")
    assert sms["title"] == "incoming_sms" and sms["message"] == "Oui, 100% d'accord 👍"
    assert sms["device_identification"] == owner["login"] and ISO_MS_Z.match(sms["date"])

    env = settings_env(live.settings)
    listed = CliRunner().invoke(main, ["devices", "list", owner["login"], "--json"], env=env)
    devices = json.loads(listed.output)
    assert [(d["name"], d["kind"], d["online"]) for d in devices] == [("Pixel", "smsgate", True)]
    assert app.problems == []


def test_pairing_warns_when_the_app_would_refuse_the_address(live: LiveServer) -> None:
    email = f"{secrets.token_hex(5)}@example.com"
    create_account(live.engine, email, "UTC", "FR")
    env = {**settings_env(live.settings), "SIMGATE_PUBLIC_URL": "http://192.0.2.7:8000"}
    added = CliRunner().invoke(
        main, ["devices", "add", email, "--name", "lan", "--kind", "smsgate", "--sim", "2"], env=env
    )
    assert added.exit_code == 0, added.output
    assert "API URL:        http://192.0.2.7:8000/api/mobile/v1" in added.output
    assert "Private Token:  sgp_" in added.output
    assert "refuses plain http except to 127.0.0.1" in added.output
    agent_with_sim = ["devices", "add", email, "--name", "x", "--sim", "2"]
    refused = CliRunner().invoke(main, agent_with_sim, env=env)
    assert refused.exit_code == 1 and "SIM number" in refused.output


def test_forged_or_stale_webhooks_store_nothing(
    live: LiveServer, owner: dict[str, Any], apps: list[FakeApp]
) -> None:
    app = new_app(live, owner, apps)
    app.register()
    app.sync()
    refused = [
        app.receive_sms("+33698765432", "forged", key="not-the-key"),
        app.receive_sms("+33698765432", "stale", timestamp=int(time.time()) - 600),
        app.receive_sms("+33698765432", "future", timestamp=int(time.time()) + 600),
    ]
    assert [r.status_code for r in refused] == [401, 401, 401]
    # Signed right, but with a body the server cannot use: refused, not stored.
    bad = app.post_webhook(
        "sms:received",
        {"id": "x1", "event": "sms:received", "payload": {"message": "a\x00b", "sender": "+33"}},
    )
    assert bad.status_code == 400
    other = app.post_webhook(
        "sms:received",
        {"id": "x2", "event": "sms:received", "deviceId": "999999",
         "payload": {"message": "hi", "sender": "+33698765432"}},
    )  # fmt: skip
    assert other.status_code == 400
    with live.engine.connect() as conn:
        stored = conn.execute(
            select(incoming_sms.c.text).where(incoming_sms.c.account_id == owner["id"])
        ).all()
    assert stored == []
    assert app.receive_sms("+33698765432", "genuine").status_code == 204


def test_repeated_and_late_reports_change_nothing(
    live: LiveServer, owner: dict[str, Any], receiver: Recorder, apps: list[FakeApp]
) -> None:
    items = numbered(3)
    unreachable = items[2]["phone_number"]
    app = new_app(live, owner, apps, repeat_reports=True, reorder_reports=True,
                  undeliverable={unreachable}).start()  # fmt: skip
    ids = send(live, owner, items)
    wait_for(lambda: len(payloads(receiver, "status")) >= 6)
    time.sleep(0.5)  # room for a wrong extra webhook to show up
    found = status_events(receiver)
    assert found[ids[0]] == found[ids[1]] == ["sent", "received"]
    assert found[ids[2]] == ["sent", "failed"]  # it left the phone: not sent again
    assert sorted(sent_once(app).values()) == [1, 1, 1]
    failed = {r.id_sms_api: r for r in rows(live, owner["id"])}[ids[2]]
    assert failed.state == "failed" and failed.fail_reason.startswith("Delivery result from SC")
    assert app.problems == []


def test_a_send_the_phone_refuses_is_retried_then_fails(
    live: LiveServer, owner: dict[str, Any], receiver: Recorder, apps: list[FakeApp]
) -> None:
    [item] = numbered(1)
    app = new_app(live, owner, apps, refuse={item["phone_number"]}).start()
    [sms_id] = send(live, owner, [item])
    wait_for(lambda: status_events(receiver).get(sms_id))
    assert status_events(receiver)[sms_id] == ["failed"]
    [row] = rows(live, owner["id"])
    assert row.fail_reason == "Send result: RESULT_ERROR_GENERIC_FAILURE" and row.attempts == 3
    # Each attempt had its own id, so the app tried each time; none went out.
    assert sorted(app.db) == [f"{row.id}.0", f"{row.id}.1", f"{row.id}.2"]
    assert app.sent == []
    with live.engine.connect() as conn:
        retries = conn.execute(
            select(message_events.c.state).where(message_events.c.message_id == row.id)
        ).scalars()
        assert sorted(retries) == ["failed", "retry", "retry"]


def test_a_phone_gone_mid_batch_loses_nothing_and_sends_nothing_twice(
    live: LiveServer, owner: dict[str, Any], receiver: Recorder, apps: list[FakeApp]
) -> None:
    # The first phone takes a batch of 3, sends 2 of them and is gone.
    first = new_app(live, owner, apps, vanish_after=2).start()
    ids = send(live, owner, numbered(3))
    assert first.vanished.wait(20)
    first.stop()
    # What comes next goes to another phone of the account.
    second = new_app(live, owner, apps, repeat_reports=True).start()
    ids += send(live, owner, numbered(3))
    wait_for(lambda: len(second.sent) == 3, LEASE + 20)
    # The first phone comes back with its own queue and sends what it had taken.
    first.vanish_after = None
    first.start()
    wait_for(lambda: all(status_events(receiver).get(i) == ["sent", "received"] for i in ids), 40)
    counts = sent_once(first, second)
    assert len(counts) == 6 and set(counts.values()) == {1}, counts
    assert len(first.sent) == 3
    assert first.problems == second.problems == []


def test_a_hand_over_the_app_never_takes_goes_back_to_the_queue(
    live: LiveServer, owner: dict[str, Any], receiver: Recorder, apps: list[FakeApp]
) -> None:
    mute = new_app(live, owner, apps)
    mute.register()
    # The stream is open (the device is connected) but the app never pulls.
    stream = httpx.stream(
        "GET", mute.api_url + "/events", headers={"Authorization": f"Bearer {mute.token}"},
        timeout=httpx.Timeout(10, read=30),
    )  # fmt: skip
    with stream as response:
        assert response.headers["content-type"] == "text/event-stream"
        lines = response.iter_lines()
        assert next(lines) == ":keepalive"
        [sms_id] = send(live, owner, numbered(1))
        for line in lines:  # the hand-over says so on the stream
            if line == "event: MessageEnqueued":
                assert next(lines) == "data: {}"
                break
        [row] = rows(live, owner["id"])
        assert row.state == "dispatched"
        assert int(mute.device_id or 0) in live.runtime.hub.links  # connected here
    # The stream closed: the device is no longer connected here.
    wait_for(lambda: int(mute.device_id or 0) not in live.runtime.hub.links)
    # Gone without taking it: after its lease the message goes to another phone.
    other = new_app(live, owner, apps).start()
    wait_for(lambda: status_events(receiver).get(sms_id) == ["sent", "received"], LEASE + 20)
    [row] = rows(live, owner["id"])
    assert row.device_id == int(other.device_id or 0) and mute.sent == []


def test_an_app_without_an_event_stream_takes_its_work_when_it_pulls(
    live: LiveServer, owner: dict[str, Any], receiver: Recorder, apps: list[FakeApp]
) -> None:
    # Rate 2 SMS per minute: one pull takes at most a minute's worth.
    secret = add_device(live.engine, owner["login"], "phone", 2, kind="smsgate", sim_number=2)[1]
    app = FakeApp(live.url + "/api/mobile/v1", secret)
    apps.append(app)
    app.register()
    ids = send(live, owner, numbered(3))
    pulled = app.pull("fifo")
    assert len(pulled) == 2 and {item["simNumber"] for item in pulled} == {2}
    app.process()
    assert len(app.pull()) == 0  # the budget is spent
    wait_for(lambda: sum(s == ["sent", "received"] for s in status_events(receiver).values()) == 2)
    assert set(status_events(receiver)) <= set(ids)
    assert app.problems == []


def test_the_private_token_registers_one_phone_and_stops_with_the_device(
    live: LiveServer, owner: dict[str, Any], apps: list[FakeApp]
) -> None:
    app = new_app(live, owner, apps)
    assert app.register().status_code == 201
    old_token = app.token
    # The same phone registering again (its data cleared): the old token stops.
    assert app.register().status_code == 201 and app.token != old_token
    stale = http_client.get(
        app.api_url + "/message", headers={"Authorization": f"Bearer {old_token}"}
    )
    assert stale.status_code == 401
    assert app.update(pushToken="fcm-token").status_code == 204
    assert app.update(id="someone-else").status_code == 403
    remove_device(live.engine, int(app.device_id or 0))
    assert http_client.get(app.api_url + "/message", headers=app._auth()).status_code == 401
    assert app.register().status_code == 401


def test_the_mobile_api_refuses_what_it_cannot_use(
    live: LiveServer, owner: dict[str, Any], apps: list[FakeApp]
) -> None:
    app = new_app(live, owner, apps)
    url = app.api_url
    assert http_client.post(url + "/device", json={"name": "x"}).status_code == 401
    wrong = {"Authorization": "Bearer sgp_wrong"}
    assert http_client.post(url + "/device", json={"name": "x"}, headers=wrong).status_code == 401
    app.register()
    auth = app._auth()
    for method, path in [
        ("GET", "/message"),
        ("PATCH", "/message"),
        ("GET", "/events"),
        ("GET", "/settings"),
        ("GET", "/webhooks"),
        ("PATCH", "/device"),
    ]:
        assert http_client.request(method, url + path, headers=wrong).status_code == 401, path
    assert http_client.get(url + "/message?order=random", headers=auth).status_code == 400
    assert httpx.patch(url + "/message", content=b"{", headers=auth).status_code == 400
    assert httpx.patch(url + "/message", json={"id": "1.0"}, headers=auth).status_code == 400
    huge = b"[" + b" " * (300 * 1024) + b"]"
    assert httpx.patch(url + "/message", content=huge, headers=auth).status_code == 413
    # A report about a message this phone does not hold is accepted and changes nothing.
    body = [{"id": "1.0", "state": "Delivered", "recipients": [], "states": {}}]
    assert httpx.patch(url + "/message", json=body, headers=auth).status_code == 204
    assert http_client.post(url + "/incoming/abc", content=b"{}").status_code == 401
    assert http_client.post(url + "/incoming/" + "9" * 30, content=b"{}").status_code == 401
    assert http_client.get(url + "/device").json() == {"externalIp": "127.0.0.1"}
    # Each kind's token opens its own door only.
    agent_token = add_device(live.engine, owner["login"], "agent")[1]
    agent = {"Authorization": f"Bearer {agent_token}"}
    assert http_client.get(url + "/message", headers=agent).status_code == 401
    sockets = Sockets(live.url)
    try:
        ws = sockets.open(app.token)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
    finally:
        sockets.close()


def test_shutdown_ends_open_event_streams(tmp_path: Path, apps: list[FakeApp]) -> None:
    server = LiveServer(Settings(data_dir=tmp_path / "data")).__enter__()
    try:
        account, _ = create_account(server.engine, "s@example.com", "UTC", "FR")
        secret = add_device(server.engine, account.email, "phone", kind="smsgate")[1]
        app = FakeApp(server.url + "/api/mobile/v1", secret, reconnect_delay=30)
        apps.append(app)
        app.start()
        assert app.stream_opened.wait(10)
    finally:
        began = time.monotonic()
        server.__exit__(None, None, None)
    # uvicorn waits for every response to end before it stops: the stream must end.
    assert time.monotonic() - began < 8


def test_the_dashboard_pairs_an_app_with_qr_codes(
    live: LiveServer, owner: dict[str, Any], apps: list[FakeApp]
) -> None:
    set_password(live.engine, owner["login"], PASSWORD)
    with signed_in_client(live.url, owner["login"]) as client:
        token = csrf_of(client.get("/app/devices").text)
        form = {"name": "Pixel", "rate": "30", "kind": "smsgate", "csrf_token": token}
        page = client.post("/app/devices", data=form)
        assert page.status_code == 200
        api_url = re.search(r'id="pair-api-url">([^<]+)<', page.text)
        private_token = re.search(r'id="pair-private-token" class="secret">([^<]+)<', page.text)
        assert api_url and private_token
        assert api_url[1] == live.url + "/api/mobile/v1"
        # One code for each value, each holding the text alone, to scan and paste.
        assert page.text.count("<svg") == 2 and 'id="pair-https"' not in page.text
        app = FakeApp(api_url[1], private_token[1])
        apps.append(app)
        assert app.register().status_code == 201
        listed = client.get("/app/devices").text
        assert "SMS Gateway app" in listed and private_token[1] not in listed
        bad = client.post("/app/devices", data={**form, "kind": "carrier pigeon"})
        assert bad.status_code == 400 and 'id="kind-error"' in bad.text


def test_whatever_the_app_sends_the_answer_is_never_a_server_error(
    live: LiveServer, owner: dict[str, Any], apps: list[FakeApp]
) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.unit.test_input_properties import json_values
    from tests.unit.test_smsgate_wire import reports, webhooks

    app = new_app(live, owner, apps)
    app.register()
    app.sync()
    [sms_id] = send(live, owner, numbered(1))
    held = app.pull()  # one message held by this phone, for reports to hit
    assert len(held) == 1
    bodies = st.one_of(json_values, st.lists(reports, max_size=3), st.lists(
        st.fixed_dictionaries({"id": st.just(held[0]["id"]), "state": st.sampled_from(
            ["Pending", "Processed", "Sent", "Delivered", "Failed", "Cancelled"])},
            optional={"states": st.dictionaries(st.sampled_from(["Sent", "Failed"]),
                                                st.text(max_size=30))}),
        max_size=2))  # fmt: skip

    @settings(
        max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(bodies, st.one_of(json_values, webhooks), st.one_of(json_values, reports))
    def check(report_body: Any, hook: Any, device_body: Any) -> None:
        answers = [
            httpx.patch(app.api_url + "/message", json=report_body, headers=app._auth()),
            httpx.patch(app.api_url + "/device", json=device_body, headers=app._auth()),
            app.post_webhook("sms:received", hook) if isinstance(hook, dict) else None,
        ]
        for answer in answers:
            assert answer is None or answer.status_code in (204, 400, 403), answer.text

    check()
    # Whatever the reports said, the message is in a state of its life cycle.
    [row] = rows(live, owner["id"])
    assert row.id_sms_api == sms_id
    assert row.state in ("dispatched", "queued", "sent", "received", "failed")
