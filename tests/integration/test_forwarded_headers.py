"""X-Forwarded-For is believed only from the proxies the operator names.

uvicorn's own default believes any process on 127.0.0.1, so before
SIMGATE_FORWARDED_ALLOW_IPS existed anything local (another service, a
sidecar, an SSH tunnel) could write the client address stored with each
link click. A click shows what the server believed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from simgate.config import Settings
from simgate.services.accounts import create_account
from tests.integration.test_links import BROWSER, clicks, send_link
from tests.support.servers import LiveServer, simgate

SPOOFED = {"User-Agent": BROWSER, "X-Forwarded-For": "203.0.113.9"}


def account_on(server: LiveServer) -> dict[str, Any]:
    acc, key = create_account(server.engine, "user@example.com", "Europe/Paris", "FR")
    return {"login": acc.email, "accessKey": key}


def test_forwarded_for_from_loopback_is_ignored_by_default(
    server: LiveServer, account: dict[str, Any]
) -> None:
    code = send_link(server, account, "https://example.com/")
    assert server.get(f"/{code}", headers=SPOOFED).status_code == 302
    assert [c.ip for c in clicks(server)] == ["127.0.0.1"]


def test_forwarded_for_is_believed_from_a_named_proxy(settings: Settings) -> None:
    with LiveServer(settings, forwarded_allow_ips=["127.0.0.1", "10.0.0.0/8"]) as server:
        code = send_link(server, account_on(server), "https://example.com/")
        server.get(f"/{code}", headers=SPOOFED)
        # The address the named proxy received the request from, not what its client claims.
        server.get(f"/{code}", headers={**SPOOFED, "X-Forwarded-For": "198.51.100.7, 127.0.0.1"})
        assert [c.ip for c in clicks(server)] == ["203.0.113.9", "198.51.100.7"]


def test_forwarded_for_from_a_proxy_not_named_is_ignored(settings: Settings) -> None:
    with LiveServer(settings, forwarded_allow_ips=["10.0.0.0/8"]) as server:
        code = send_link(server, account_on(server), "https://example.com/")
        server.get(f"/{code}", headers=SPOOFED)
        assert [c.ip for c in clicks(server)] == ["127.0.0.1"]


def test_the_setting_takes_addresses_and_networks_only() -> None:
    proxies = Settings(forwarded_allow_ips=" 127.0.0.1, 10.0.0.0/8,,::1 ").forwarded_allow_ips
    assert proxies == ["127.0.0.1", "10.0.0.0/8", "::1"]
    assert Settings().forwarded_allow_ips == []
    # uvicorn would take these as literals that never match; refuse them at start.
    for wrong in ["*", "proxy.internal", "10.0.0.1/8", "127.0.0.1:8080"]:
        with pytest.raises(ValidationError, match="not an IP address or network"):
            Settings(forwarded_allow_ips=wrong)


def test_serve_refuses_a_wrong_proxy_address(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    result = simgate("serve", "--forwarded-allow-ips", "proxy.internal", settings=settings)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: bad setting forwarded_allow_ips (--forwarded-allow-ips): 'proxy.internal' is "
        "not an IP address or network ('proxy.internal' does not appear to be an IPv4 or IPv6 "
        "address)"
    ]
