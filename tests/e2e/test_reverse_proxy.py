"""simgate behind a real nginx with TLS, configured as docs/deploy.md says.

One server for the module (SQLite: the proxy does not care about the store),
reached through nginx over IPv6 loopback (::1) while nginx reaches simgate on
127.0.0.1, so that the client's address and the proxy's differ. Skipped where
nginx is missing (CI installs it: .ci/run).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from simgate.device import protocol
from simgate.services.accounts import create_account
from simgate.services.devices import add_device
from simgate.services.passwords import set_password
from tests.conftest import _store_settings
from tests.integration.test_links import BROWSER, clicks
from tests.support import nginx
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.support.smsgate_app import USER_AGENT, FakeApp
from tests.web.helpers import PASSWORD, csrf_of

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", autouse=True)
def _nginx_here() -> None:
    why = nginx.missing()
    if why is not None:
        if os.environ.get("SIMGATE_REQUIRE_NGINX") == "1":  # CI: never skipped
            pytest.fail(why)
        pytest.skip(why)


DEPLOY_DOC = nginx.REPO / "docs" / "deploy.md"


class Proxied:
    """A server and the nginx in front of it, and a client that trusts its certificate."""

    def __init__(self, server: LiveServer, proxy: nginx.Nginx, tls: ssl.SSLContext) -> None:
        self.server, self.proxy, self.tls = server, proxy, tls
        self.url = proxy.url6

    def client(self, **options: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.tls, timeout=30, **options)

    def account(self) -> dict[str, Any]:
        email = f"{secrets.token_hex(5)}@example.com"
        account, key = create_account(self.server.engine, email, "Europe/Paris", "FR")
        return {"login": email, "accessKey": key, "id": account.id}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return nginx.make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def _proxied(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    certificate: tuple[Path, Path],
    tls: ssl.SSLContext,
    **overrides: Any,
) -> Iterator[Proxied]:
    folder = tmp_path_factory.mktemp("proxied")
    proxy = nginx.Nginx(folder / "nginx", *certificate)
    for settings in _store_settings("sqlite", folder / "data", None, None, sqlite_template):
        # The public URL is the proxy's: short links and pairing point there.
        with LiveServer(settings, public_url=proxy.url6, **overrides) as server:
            proxy.configure(f"127.0.0.1:{server.port}")
            checked = proxy.check()
            assert checked.returncode == 0, checked.stderr
            with proxy.start(f"127.0.0.1:{server.port}"):
                yield Proxied(server, proxy, tls)


@pytest.fixture(scope="module")
def proxied(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    certificate: tuple[Path, Path],
    tls: ssl.SSLContext,
) -> Iterator[Proxied]:
    """Behind nginx, trusting it: nginx reaches simgate from 127.0.0.1."""
    yield from _proxied(
        tmp_path_factory, sqlite_template, certificate, tls, forwarded_allow_ips=["127.0.0.1"]
    )


def test_the_documented_configuration_is_the_tested_template() -> None:
    documented = nginx.render(**nginx.DOCUMENTED)
    assert f"```nginx\n{documented}```" in DEPLOY_DOC.read_text()


def test_v1_and_v2_apis_through_the_proxy(proxied: Proxied) -> None:
    account = proxied.account()
    header = {"login": account["login"], "accessKey": account["accessKey"]}
    item = {"phone_number": "+33612345678", "message": "through nginx"}
    with proxied.client() as client:
        answer = client.post("/api/v1/sendsms", json={"header": header, "messages": [item]})
        assert answer.status_code == 200 and answer.json()[0]["sent"] == 1, answer.text
        # nginx's own $request_id reaches simgate, which answers it back.
        assert re.fullmatch("[0-9a-f]{32}", answer.headers["x-request-id"])
        listed = client.post("/api/v2/calls", json={**header, "limit": 5})
        assert listed.status_code == 200 and listed.json()["success"] is True, listed.text
        # Over the body limit: nginx answers itself, in the inSIM error shape.
        too_big = client.post(
            "/api/v1/sendsms", content=b"x" * (5 * 1024 * 1024 + 1),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        assert too_big.status_code == 413
        assert too_big.json() == {
            "result": "failed",
            "errors": ["#103"],
            "info": "the body is over the limit of 5242880 bytes",
        }
    # Plain HTTP is sent to HTTPS.
    plain = httpx.get(f"http://[::1]:{proxied.proxy.http_port}/api/v1/sendsms", timeout=10)
    assert plain.status_code == 301
    assert plain.headers["location"].startswith("https://")


def test_dashboard_sign_in_and_a_form_with_csrf(proxied: Proxied) -> None:
    account = proxied.account()
    set_password(proxied.server.engine, account["login"], PASSWORD)
    with proxied.client() as browser:
        page = browser.get("/app/login")
        signed = browser.post(
            "/app/login",
            data={
                "email": account["login"],
                "password": PASSWORD,
                "csrf_token": csrf_of(page.text),
            },
        )
        assert signed.status_code == 303, signed.text
        # The public URL is https: the cookie is Secure, and still comes back over TLS.
        assert "secure" in signed.headers["set-cookie"].lower()
        form = browser.get("/app/templates")
        assert form.status_code == 200
        made = browser.post(
            "/app/templates",
            data={"name": "Promo", "message": "Hello", "csrf_token": csrf_of(form.text)},
        )
        assert made.status_code == 303, made.text
        assert "Promo" in browser.get("/app/templates").text
        forged = browser.post("/app/templates", data={"name": "x", "message": "y"})
        assert forged.status_code == 403


def _send_link(proxied: Proxied, client: httpx.Client, account: dict[str, Any]) -> str:
    body = {
        "header": {"login": account["login"], "accessKey": account["accessKey"]},
        "messages": [
            {"phone_number": "+33612345678", "message": "Offer [link]", "url": "https://e.x/"}
        ],
    }
    text = client.post("/api/v1/sendsms", json=body).json()[0]["message"]
    # The short link is the proxy's address, not simgate's own.
    match = re.fullmatch(rf"Offer {re.escape(proxied.url)}/([0-9A-Za-z]+)", text)
    assert match, text
    return match.group(1)


def test_a_tracked_link_through_the_proxy_records_the_clients_address(proxied: Proxied) -> None:
    with proxied.client() as client:
        code = _send_link(proxied, client, proxied.account())
        before = len(clicks(proxied.server))
        click = client.get(f"/{code}", headers={"User-Agent": BROWSER})
    assert click.status_code == 302 and click.headers["location"] == "https://e.x/"
    # nginx got the request from ::1 and said so; simgate trusts 127.0.0.1, nginx.
    assert [c.ip for c in clicks(proxied.server)[before:]] == ["::1"]


def test_the_proxys_word_is_ignored_unless_trusted(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    certificate: tuple[Path, Path],
    tls: ssl.SSLContext,
) -> None:
    for untrusted in _proxied(tmp_path_factory, sqlite_template, certificate, tls):
        with untrusted.client() as client:
            code = _send_link(untrusted, client, untrusted.account())
            assert client.get(f"/{code}", headers={"User-Agent": BROWSER}).status_code == 302
        assert [c.ip for c in clicks(untrusted.server)] == ["127.0.0.1"]


def test_the_device_websocket_through_the_proxy(proxied: Proxied) -> None:
    account = proxied.account()
    token = add_device(proxied.server.engine, account["login"], "phone", 6000)[1]
    url = proxied.url.replace("https://", "wss://") + protocol.PATH
    headers = {"Authorization": f"Bearer {token}"}
    with connect(url, ssl=proxied.tls, additional_headers=headers, max_queue=None) as ws:
        ws.send(json.dumps({"type": "hello", "protocol": 1}))
        assert json.loads(ws.recv(10))["type"] == "welcome"
        item = {"phone_number": "+33612345678", "message": "over wss"}
        header = {"login": account["login"], "accessKey": account["accessKey"]}
        with proxied.client() as client:
            client.post("/api/v1/sendsms", json={"header": header, "messages": [item]})
        while (frame := json.loads(ws.recv(10)))["type"] == "ping":
            continue
        assert frame["type"] == "send_sms" and frame["text"] == "over wss"
        ws.send(json.dumps({"type": "ack", "id": frame["id"]}))


def test_the_sms_gateway_apps_event_stream_through_the_proxy(proxied: Proxied) -> None:
    account = proxied.account()
    token = add_device(proxied.server.engine, account["login"], "phone", 6000, kind="smsgate")[1]
    app = FakeApp(proxied.url + "/api/mobile/v1", token)
    app.http.close()
    app.http = httpx.Client(headers={"User-Agent": USER_AGENT}, timeout=10, verify=proxied.tls)
    try:
        app.start()
        assert app.stream_opened.wait(10)
        # Sent once the stream is open: only its event (not the pull at opening)
        # tells the app, so nginx must pass each event on at once (simgate asks
        # with X-Accel-Buffering: no; the documented location also says so).
        item = {"phone_number": "+33612345678", "message": "over sse"}
        header = {"login": account["login"], "accessKey": account["accessKey"]}
        with proxied.client() as client:
            client.post("/api/v1/sendsms", json={"header": header, "messages": [item]})
        wait_for(lambda: [text for _, _, text in app.sent] == ["over sse"], timeout=10)
        assert app.problems == []
    finally:
        app.close()
