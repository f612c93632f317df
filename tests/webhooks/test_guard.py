"""The SSRF guard: every address form, and the check on the address connected to."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

import httpcore
import pytest

from simgate.domain import payloads
from simgate.services import urlguard
from simgate.services.urlguard import (
    GuardedBackend,
    RefusedAddress,
    check_addresses,
    check_url_literal,
    numeric_host,
    problem,
)
from simgate.services.webhook_admin import validate_callback_url
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.webhooks.conftest import FAST, Recorder, emit, make_account, rows

REFUSED = {
    # IPv4
    "127.0.0.1": "loopback",
    "127.255.0.9": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "169.254.1.1": "link-local",
    "169.254.169.254": "metadata",
    "100.64.0.1": "carrier-grade NAT",
    "100.127.255.254": "carrier-grade NAT",
    "100.100.100.200": "metadata",
    "0.0.0.0": "unspecified",
    "240.0.0.1": "reserved",
    "255.255.255.255": "reserved",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "192.0.2.10": "private",  # documentation range
    "198.18.0.1": "private",  # benchmarking range
    # IPv6
    "::1": "loopback",
    "::": "unspecified",
    "fe80::1": "link-local",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "fd00:ec2::254": "metadata",
    "ff02::1": "multicast",
    "2001:db8::1": "private",
    # IPv6 forms that lead to an IPv4 address
    "::ffff:127.0.0.1": "IPv4-mapped",
    "::ffff:169.254.169.254": "metadata",
    "::ffff:10.0.0.1": "IPv4-mapped",
    "64:ff9b::7f00:1": "NAT64",
    "64:ff9b::a9fe:a9fe": "metadata",
    "64:ff9b:1::1": "NAT64",
    "2002:7f00:1::": "6to4",
    "2002:c0a8:101::1": "6to4",
    "::127.0.0.1": "reserved",  # IPv4-compatible (deprecated)
}
ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "2606:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize("text", sorted(REFUSED))
def test_refused_addresses(text: str) -> None:
    reason = problem(ipaddress.ip_address(text))
    assert reason is not None and REFUSED[text] in reason


@pytest.mark.parametrize("text", ALLOWED)
def test_public_addresses_pass(text: str) -> None:
    assert problem(ipaddress.ip_address(text)) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",  # 127.0.0.1 as one decimal number
        "http://0x7f.1/",  # hex and short dotted form
        "http://0x7f000001/",
        "http://017700000001/",  # octal
        "http://127.1/",
        "http://[::ffff:7f00:1]/",
        "http://[::ffff:127.0.0.1]:8080/x",
        "https://[64:ff9b::169.254.169.254]/",
        "http://[2002:a9fe:a9fe::]/latest/meta-data",
        "http://0/",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_numeric_forms_are_read_as_the_resolver_reads_them(url: str) -> None:
    with pytest.raises(RefusedAddress):
        check_url_literal(url)
    with pytest.raises(ValueError, match="refused"):
        validate_callback_url(url)
    assert validate_callback_url(url, allow_private=True) == url


def test_a_url_the_sender_cannot_parse_is_refused_even_if_private_is_allowed() -> None:
    # httpx (the sender) refuses a zero-padded dotted quad: such a callback could never
    # be delivered, so it is refused when it is set, not discovered dead days later.
    for allow_private in (False, True):
        with pytest.raises(ValueError, match="not a URL"):
            validate_callback_url("http://0177.0.0.1/", allow_private)


def test_numeric_host_parses_no_names() -> None:
    assert numeric_host("2130706433") == ipaddress.ip_address("127.0.0.1")
    assert numeric_host("0x7f.1") == ipaddress.ip_address("127.0.0.1")
    assert numeric_host("[::1]") == ipaddress.ip_address("::1")
    assert numeric_host("example.com") is None
    assert numeric_host("localhost") is None  # a name: checked when resolved


def test_a_name_is_refused_if_any_of_its_addresses_is() -> None:
    assert check_addresses("ok.example", ["8.8.8.8", "2606:4700::1111"]) == [
        "8.8.8.8",
        "2606:4700::1111",
    ]
    with pytest.raises(RefusedAddress, match="loopback"):
        check_addresses("rebind.example", ["8.8.8.8", "127.0.0.1"])
    with pytest.raises(RefusedAddress, match="link-local"):
        check_addresses("zone.example", ["fe80::1%eth0"])
    with pytest.raises(RefusedAddress, match="no address"):
        check_addresses("empty.example", [])


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("http:///path", "no host"),
        ("http://example.com/a b", "spaces"),
        ("http://example.com/#frag", "fragment"),
        ("http://example.com:99999/", "not a URL"),
        ("example.com/hook", "http:// or https://"),
        ("https://example.com/" + "a" * 2001, "longer"),
    ],
)
def test_bad_callback_urls(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_callback_url(url, allow_private=True)


def test_good_callback_urls() -> None:
    assert validate_callback_url("  https://hooks.example.com/x?a=1  ") == (
        "https://hooks.example.com/x?a=1"
    )
    assert validate_callback_url("") == ""


class SpyBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self.hosts: list[str] = []

    async def connect_tcp(self, host: str, port: int, *args: Any, **kw: Any) -> Any:
        self.hosts.append(host)
        raise httpcore.ConnectError("spy: not connecting")


async def test_backend_resolves_vets_and_connects_to_the_vetted_ip(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spy = SpyBackend()
    backend = GuardedBackend(spy)
    with pytest.raises(RefusedAddress, match="loopback"):
        await backend.connect_tcp("localhost", 80, timeout=2)
    assert spy.hosts == []  # refused before any connection
    # Let loopback through (as if it were public) to see what is connected to:
    # the IP that was checked, not the name (which could resolve anew).
    monkeypatch.setattr(urlguard, "problem", lambda address: None)
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("localhost", 80, timeout=2)
    assert spy.hosts and all(ipaddress.ip_address(h).is_loopback for h in spy.hosts)


def test_callback_to_loopback_refused_without_the_setting(
    settings: Any, recorder: Recorder
) -> None:
    with LiveServer(settings, webhook_retry_schedule=FAST, allow_private_callbacks=False) as live:
        # "localhost" passes the literal check when set; the connect-time check stops it.
        # The literal 127.0.0.1 was let in at setting time (as an operator could) and
        # is stopped the same way.
        account = make_account(
            live.engine,
            message=recorder.url.replace("127.0.0.1", "localhost"),
            status=recorder.url + "/dlr",
        )
        emit(live.engine, account, "message", payloads.incoming_sms("u@e.x", "+1", "x", NOW))
        emit(
            live.engine,
            account,
            "status",
            payloads.delivery_status("u@e.x", "+1", "sent", NOW, "i"),
        )
        wait_for(lambda: [r.state for r in rows(live.engine)] == ["dead", "dead"], timeout=15)
        dead = rows(live.engine)
        for row in rows(live.engine):
            assert row.state == "dead" and row.last_status is None and row.attempts == 4
            assert "refused" in row.last_error and "loopback" in row.last_error
    assert recorder.requests == []
    # With the setting, the same rows (replayed) are delivered.
    from simgate.services.webhook_admin import replay

    with LiveServer(settings, webhook_retry_schedule=FAST, allow_private_callbacks=True) as live:
        for row in dead:
            replay(live.engine, row.event_id)
        wait_for(lambda: len(recorder.acked()) == 2)
        assert wait_for(lambda: all(r.state == "done" for r in rows(live.engine)))


NOW = datetime(2026, 3, 1, 12, 0, 0)
