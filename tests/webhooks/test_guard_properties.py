"""The setting-time check of callback URLs agrees with the send-time guard.

`validate_callback_url` judges the URL as written; the sender later resolves
the host and `check_addresses` vets what it connects to. A URL the first
accepts but whose numeric host the second refuses is a mistake found only when
webhooks die, so the property is: whatever form a numeric host is written in,
if the setting-time check accepts the URL, the send-time guard accepts the
address the sender would reach.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simgate.services.urlguard import RefusedAddress, check_addresses
from simgate.services.webhook_admin import validate_callback_url

# Networks the guard refuses, so that generated addresses land in them often.
SPECIAL = [
    "127.0.0.0/8",
    "10.0.0.0/8",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "0.0.0.0/8",
    "224.0.0.0/4",
    "::1/128",
    "fe80::/10",
    "fc00::/7",
    "::ffff:0:0/96",
    "64:ff9b::/96",
    "2002::/16",
]
IDNA_DOTS = [".", "\u3002", "\uff0e", "\uff61"]  # URL parsers map all of these to "."

addresses = st.one_of(
    st.ip_addresses(),
    st.sampled_from(SPECIAL).flatmap(lambda net: st.ip_addresses(network=net)),
    st.sampled_from(["169.254.169.254", "127.0.0.1", "::1", "fd00:ec2::254"]).map(
        ipaddress.ip_address
    ),
)


@st.composite
def ipv4_forms(draw: st.DrawFn, address: ipaddress.IPv4Address) -> str:
    """`address` written in one of the forms inet_aton reads."""
    n = int(address)
    octets = address.packed
    form = draw(st.sampled_from(["dotted", "decimal", "hex", "octal", "two", "three", "parts"]))
    if form == "decimal":
        return str(n)
    if form == "hex":
        return hex(n)
    if form == "octal":
        return "0" + format(n, "o")
    if form == "two":
        return f"{octets[0]}.{n & 0xFFFFFF}"
    if form == "three":
        return f"{octets[0]}.{octets[1]}.{n & 0xFFFF}"
    if form == "parts":
        writers = [str, hex, lambda part: "0" + format(part, "o")]
        return ".".join(draw(st.sampled_from(writers))(part) for part in octets)
    dot = draw(st.sampled_from(IDNA_DOTS))
    return dot.join(str(part) for part in octets)


@st.composite
def numeric_hosts(draw: st.DrawFn) -> str:
    """A numeric host as it stands in a URL, with the decorations resolvers forgive."""
    address = draw(addresses)
    if isinstance(address, ipaddress.IPv4Address):
        text = draw(ipv4_forms(address))
    else:
        text = draw(st.sampled_from([address.compressed, address.exploded]))
        if address.ipv4_mapped is not None and draw(st.booleans()):
            text = f"::ffff:{address.ipv4_mapped}"
        if draw(st.booleans()):
            text += draw(st.sampled_from(["%25eth0", "%251", "%lo", "%2525"]))
    if draw(st.booleans()):
        text = text.upper()
    text += draw(st.sampled_from(["", "", ".", ".."]))
    if draw(st.integers(0, 3)) == 0 and text:
        # Percent-encode one character, as a URL may.
        i = draw(st.integers(0, len(text) - 1))
        text = text[:i] + "".join(f"%{b:02X}" for b in text[i].encode()) + text[i + 1 :]
    return f"[{text}]" if ":" in text and draw(st.integers(0, 5)) else text


name_hosts = st.one_of(
    st.sampled_from(["localhost", "LocalHost.", "api.localhost", "example.com", "hooks.example."]),
    st.from_regex(r"[a-z0-9-]{1,12}(\.[a-z0-9-]{1,12}){0,3}\.?", fullmatch=True),
)


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "ftp"]))
    userinfo = draw(st.sampled_from(["", "", "user@", "u:p@", "evil.example@"]))
    host = draw(st.one_of(numeric_hosts(), name_hosts))
    port = draw(st.sampled_from(["", "", ":80", ":8443", ":0", ":99999"]))
    tail = draw(st.sampled_from(["/", "", "/hook?x=1", "/#f", "\\@evil.example/", "?a=%31"]))
    return f"{scheme}://{userinfo}{host}{port}{tail}"


def numeric_readings(host: str) -> set[str]:
    """Every address a resolver could take `host` for: as sent, without trailing
    dots, percent-decoded, without a zone id (numeric parsing only: no DNS)."""
    forms = {host, host.rstrip("."), unquote(host), unquote(host).rstrip(".")}
    forms |= {form.split("%")[0] for form in forms}
    found = set()
    for form in forms:
        try:
            infos = socket.getaddrinfo(form, None, flags=socket.AI_NUMERICHOST)
        except (socket.gaierror, UnicodeError, ValueError):
            continue
        found |= {str(info[4][0]) for info in infos}
    return found


SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(url=st.one_of(urls(), st.text(max_size=80)), allow_private=st.booleans())
def test_validate_callback_url_raises_only_value_error(url: str, allow_private: bool) -> None:
    try:
        validate_callback_url(url, allow_private)
    except ValueError:
        pass


@SETTINGS
@given(url=urls())
def test_an_accepted_numeric_host_is_accepted_by_the_send_time_guard(url: str) -> None:
    try:
        accepted = validate_callback_url(url)
    except ValueError:
        return
    # What the sender will hand to the resolver (it must be able to parse the URL).
    host = httpx.URL(accepted).raw_host.decode("ascii")
    for address in numeric_readings(host):
        try:
            check_addresses(host, [address])
        except RefusedAddress as exc:
            pytest.fail(f"{url!r} was accepted but the send-time guard refuses it: {exc}")


# The forms the setting-time check once let through; and IDNA dots, which the
# sender's URL parser maps to ASCII ones (refused before too, kept so it stays so).
PRIVATE_FORMS = [
    "http://169.254.169.254./latest/meta-data",
    "http://127.0.0.1./",
    "http://127.0.0.1../",
    "http://0x7f.1./",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://api.localhost:8080/hook",
    "http://127\u30020\u30020\u30021/",
]
UNCHECKABLE_FORMS = [
    "http://[fe80::1%25eth0]/",
    "http://[fe80::1%252]/",
    "http://%31%32%37.0.0.1/",
    "http://ex%41mple.com/",
]


@pytest.mark.parametrize("url", PRIVATE_FORMS)
def test_private_forms_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(ValueError, match="refused.*SIMGATE_ALLOW_PRIVATE_CALLBACKS"):
        validate_callback_url(url)
    assert validate_callback_url(url, allow_private=True) == url


@pytest.mark.parametrize("url", UNCHECKABLE_FORMS)
def test_percent_and_zone_ids_in_hosts_are_refused_always(url: str) -> None:
    for allow_private in (False, True):
        with pytest.raises(ValueError, match="has a %"):
            validate_callback_url(url, allow_private)


def test_public_hosts_still_pass() -> None:
    for url in ["https://hooks.example.com./x", "http://8.8.8.8./", "https://[2606:4700::1111]/"]:
        assert validate_callback_url(url) == url
