"""simgate behind a real reverse proxy with TLS, configured as docs/deploy.md says.

Every test runs through Debian's nginx and through Debian's Caddy (the
`kind` parameter). One server per proxy (SQLite: the proxy does not care
about the store), reached through the proxy over IPv6 loopback (::1) while
the proxy reaches simgate on 127.0.0.1, so that the client's address and the
proxy's differ. A proxy that is missing is skipped (CI installs both and sets
SIMGATE_REQUIRE_NGINX and SIMGATE_REQUIRE_CADDY: .ci/run).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from websockets.sync.client import connect

from simgate.device import protocol
from simgate.services.accounts import create_account
from simgate.services.devices import add_device
from simgate.services.passwords import set_password
from tests.conftest import _store_settings
from tests.integration.test_links import BROWSER, clicks
from tests.support import caddy, nginx
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.support.smsgate_app import USER_AGENT, FakeApp
from tests.web.helpers import PASSWORD, csrf_of

pytestmark = pytest.mark.e2e

DEPLOY_DOC = nginx.REPO / "docs" / "deploy.md"
# The proxies' body limit, which the docs' configurations set.
LIMIT = 5 * 1024 * 1024
# Why a proxy cannot run here (None if it can), and the variable that turns
# its skip into a failure.
MISSING = {"nginx": (nginx.missing, "SIMGATE_REQUIRE_NGINX"),
           "caddy": (caddy.missing, "SIMGATE_REQUIRE_CADDY")}  # fmt: skip


class Proxy(Protocol):
    url6: str
    http_port: int

    def configure(self, upstream: str) -> None: ...
    def check(self) -> subprocess.CompletedProcess[str]: ...
    def start(self, upstream: str) -> Any: ...
    def stop(self) -> None: ...


def _require(kind: str) -> None:
    missing, flag = MISSING[kind]
    why = missing()
    if why is not None:
        if os.environ.get(flag) == "1":  # CI: never skipped
            pytest.fail(why)
        pytest.skip(why)


@pytest.fixture(scope="module", params=["nginx", "caddy"])
def kind(request: pytest.FixtureRequest) -> str:
    _require(request.param)
    return str(request.param)


class Proxied:
    """A server and the proxy in front of it, and a client that trusts its certificate."""

    def __init__(self, kind: str, server: LiveServer, proxy: Proxy, tls: ssl.SSLContext) -> None:
        self.kind, self.server, self.proxy, self.tls = kind, server, proxy, tls
        self.url = proxy.url6

    def client(self, **options: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.tls, timeout=30, **options)

    def account(self) -> dict[str, Any]:
        email = f"{secrets.token_hex(5)}@example.com"
        account, key = create_account(self.server.engine, email, "Europe/Paris", "FR")
        return {"login": email, "accessKey": key, "id": account.id}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """nginx's throwaway certificate (Caddy makes its own, from a local CA)."""
    return nginx.make_certificate(tmp_path_factory.mktemp("tls"))


def _proxied(
    kind: str,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    request: pytest.FixtureRequest,
    **overrides: Any,
) -> Iterator[Proxied]:
    folder = tmp_path_factory.mktemp(f"proxied-{kind}")
    proxy: Proxy
    if kind == "nginx":
        cert, key = request.getfixturevalue("certificate")
        proxy = nginx.Nginx(folder / "nginx", cert, key)
        trust = lambda: ssl.create_default_context(cafile=str(cert))  # noqa: E731
    else:
        proxy = caddy.Caddy(folder / "caddy")
        trust = proxy.tls_context  # its CA exists once it has started
    # Above the proxies' limit: a body over it is answered by the proxy, or not at all.
    overrides.setdefault("max_body_bytes", LIMIT + 1024 * 1024)
    # Pings, and the event stream's keep-alive comments, every 0.5 s: a closing
    # app reads until the next line, so it stops at once rather than within 15 s.
    overrides.setdefault("heartbeat_seconds", 0.5)
    for settings in _store_settings("sqlite", folder / "data", None, None, sqlite_template):
        # The public URL is the proxy's: short links and pairing point there.
        with LiveServer(settings, public_url=proxy.url6, **overrides) as server:
            upstream = f"127.0.0.1:{server.port}"
            proxy.configure(upstream)
            checked = proxy.check()
            assert checked.returncode == 0, checked.stderr
            proxy.start(upstream)
            try:
                yield Proxied(kind, server, proxy, trust())
            finally:
                proxy.stop()


@pytest.fixture(scope="module")
def proxied(
    kind: str,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Proxied]:
    """Behind the proxy, trusting it: the proxy reaches simgate from 127.0.0.1."""
    yield from _proxied(
        kind, tmp_path_factory, sqlite_template, request, forwarded_allow_ips=["127.0.0.1"]
    )


def test_the_documented_nginx_configuration_is_the_tested_template() -> None:
    documented = nginx.render(**nginx.DOCUMENTED)
    assert f"```nginx\n{documented}```" in DEPLOY_DOC.read_text()


def test_the_documented_caddy_configuration_is_the_tested_template() -> None:
    documented = caddy.render(**caddy.DOCUMENTED)
    assert f"```caddyfile\n{documented}```" in DEPLOY_DOC.read_text()


def _post_body(client: httpx.Client, size: int) -> httpx.Response:
    return client.post("/api/v1/sendsms", content=b"x" * size,
                       headers={"Content-Type": "application/json"})  # fmt: skip


def test_v1_and_v2_apis_through_the_proxy(proxied: Proxied) -> None:
    account = proxied.account()
    header = {"login": account["login"], "accessKey": account["accessKey"]}
    item = {"phone_number": "+33612345678", "message": f"through {proxied.kind}"}
    with proxied.client() as client:
        answer = client.post("/api/v1/sendsms", json={"header": header, "messages": [item]})
        assert answer.status_code == 200 and answer.json()[0]["sent"] == 1, answer.text
        # nginx's own $request_id reaches simgate, which answers it back;
        # Caddy sends none, and simgate makes one.
        if proxied.kind == "nginx":
            assert re.fullmatch("[0-9a-f]{32}", answer.headers["x-request-id"])
        else:
            assert answer.headers["x-request-id"]
        listed = client.post("/api/v2/calls", json={**header, "limit": 5})
        assert listed.status_code == 200 and listed.json()["success"] is True, listed.text
        # At the limit, the body reaches simgate (which finds it is not JSON).
        at_limit = _post_body(client, LIMIT)
        assert at_limit.status_code == 400 and at_limit.json()["errors"] == ["#100"], at_limit.text
        # Over it (simgate here would take it): the proxy answers itself, in the inSIM error shape.
        too_big = _post_body(client, LIMIT + 1)
        assert too_big.status_code == 413, too_big.text
        assert too_big.headers["content-type"] == "application/json"
        assert too_big.json() == {
            "result": "failed",
            "errors": ["#103"],
            "info": "the body is over the limit of 5242880 bytes",
        }
    # Plain HTTP is sent to HTTPS (nginx: 301, Caddy: 308). Asked for a host
    # name: Caddy 2.6 would write the IPv6 literal unbracketed ("https://::1/").
    plain = httpx.get(
        f"http://[::1]:{proxied.proxy.http_port}/api/v1/sendsms",
        headers={"Host": "localhost"},
        timeout=10,
    )
    assert plain.status_code in (301, 308)
    assert plain.headers["location"] == "https://localhost/api/v1/sendsms"


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


# An address a client makes up: each proxy writes the one it sees instead.
FORGED = {"User-Agent": BROWSER, "X-Forwarded-For": "203.0.113.7"}


def test_a_tracked_link_through_the_proxy_records_the_clients_address(proxied: Proxied) -> None:
    with proxied.client() as client:
        code = _send_link(proxied, client, proxied.account())
        before = len(clicks(proxied.server))
        click = client.get(f"/{code}", headers=FORGED)
    assert click.status_code == 302 and click.headers["location"] == "https://e.x/"
    # The proxy got the request from ::1 and said so; simgate trusts 127.0.0.1, the proxy.
    assert [c.ip for c in clicks(proxied.server)[before:]] == ["::1"]


def test_the_proxys_word_is_ignored_unless_trusted(
    kind: str,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    request: pytest.FixtureRequest,
) -> None:
    for untrusted in _proxied(kind, tmp_path_factory, sqlite_template, request):
        with untrusted.client() as client:
            code = _send_link(untrusted, client, untrusted.account())
            assert client.get(f"/{code}", headers=FORGED).status_code == 302
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
        # tells the app, so the proxy must pass each event on at once (nginx:
        # simgate asks with X-Accel-Buffering: no, and the documented location
        # also says so; Caddy does so for any text/event-stream answer).
        item = {"phone_number": "+33612345678", "message": "over sse"}
        header = {"login": account["login"], "accessKey": account["accessKey"]}
        with proxied.client() as client:
            client.post("/api/v1/sendsms", json={"header": header, "messages": [item]})
        wait_for(lambda: [text for _, _, text in app.sent] == ["over sse"], timeout=10)
        assert app.problems == []
    finally:
        app.close()
