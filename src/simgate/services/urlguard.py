"""The SSRF guard: callback URLs may only reach public addresses.

A customer chooses the callback URLs, so without a guard they could make the
server GET its own admin ports, the LAN or a cloud metadata service. The check
runs where it cannot be dodged: on the address actually connected to. The
sender's HTTP client resolves the host itself, refuses the whole name if any
address is not public (so a DNS answer mixing a public and a private address
does not slip through) and then connects to the vetted IP; TLS still uses the
host name (SNI and certificate check) and the Host header is unchanged, since
only the TCP connect is replaced. A later DNS change cannot move an open
connection, and every new connection is vetted again.

When a URL is set, `check_url_literal` refuses what its host says outright
(a private numeric address, a localhost name), so that a mistake is seen at
once rather than when the first delivery dies; it is a courtesy, the connect
check is the guard.

Operators allow private addresses with SIMGATE_ALLOW_PRIVATE_CALLBACKS=true
(or `serve --allow-private-callbacks`), as tests and local setups do.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services: AWS/GCP/Azure/OpenStack, AWS ECS, Azure wireserver,
# Alibaba, AWS IPv6. Named so that the refusal says what was aimed at.
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "168.63.129.16",
        "100.100.100.200",
        "fd00:ec2::254",
    )
)
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: site-local translators


class RefusedAddress(Exception):
    """The callback host is, or resolves to, an address the guard refuses."""


def problem(address: IPAddress) -> str | None:
    """Why `address` may not be called back, or None if it is a public address."""
    if address in METADATA:
        return f"{address} is a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        embedded, form = _embedded_ipv4(address)
        if embedded is not None:
            inner = problem(embedded)
            return f"{address} is {form} of {embedded}: {inner}" if inner else None
        if address in NAT64_LOCAL:
            return f"{address} is a local-use NAT64 address"
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, ipaddress.IPv4Address) and address in CGNAT, "a carrier-grade NAT"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a public address"),
    )
    for failed, what in checks:
        if failed:
            return f"{address} is {what}"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address | None, str]:
    """The IPv4 address a v6 address really leads to, for the forms that carry one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped, "IPv4-mapped IPv6"
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "a NAT64 address"
    if address.sixtofour is not None:
        return address.sixtofour, "a 6to4 address"
    return None, ""


def numeric_host(host: str) -> IPAddress | None:
    """The address a numeric host means to the resolver, or None for a name.

    Uses the C library's own parser (AI_NUMERICHOST, no DNS), so that forms
    like `2130706433`, `0x7f.1` or `017700000001` are read exactly as a
    connect would read them.
    """
    host = host.strip("[]")
    try:
        infos = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    return ipaddress.ip_address(str(infos[0][4][0]).split("%")[0])


def check_addresses(host: str, addresses: Iterable[str]) -> list[str]:
    """The addresses if every one is public; else RefusedAddress for the first that is not."""
    vetted = []
    for text in addresses:
        address = ipaddress.ip_address(text.split("%")[0])  # drop an IPv6 zone id
        reason = problem(address)
        if reason:
            raise RefusedAddress(f"callback host {host} refused: {reason}")
        vetted.append(text)
    if not vetted:
        raise RefusedAddress(f"callback host {host} has no address")
    return vetted


def check_url_literal(url: str, allow_private: bool = False) -> None:
    """Check a callback URL's host as written, without a DNS lookup.

    The host is read with the sender's own URL parser (httpx), so that it is
    the very text the sender will hand to the resolver: httpx maps IDNA dots
    (`127。0。0。1`) to ASCII ones, which `urlsplit` does not. ValueError: the
    host can never be checked (percent-encoding, an IPv6 zone id), whatever
    the settings. RefusedAddress: the host names a loopback or non-public
    address, unless `allow_private`.
    """
    try:
        host = httpx.URL(url).raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise ValueError(f"not a URL: {exc}") from None
    if "%" in host:
        # `%31%32%37.0.0.1` and `[fe80::1%25eth0]`: one layer of decoding
        # could hide another, and no public callback needs either.
        raise ValueError(f"callback host {host} has a % (percent-encoding or an IPv6 zone id)")
    if allow_private:
        return
    # A trailing dot names the DNS root: `127.0.0.1.` is 127.0.0.1 to many resolvers.
    name = host.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):  # RFC 6761: always loopback
        raise RefusedAddress(f"callback host {host} refused: localhost names are loopback")
    address = numeric_host(name)
    if address is not None:
        reason = problem(address)
        if reason:
            raise RefusedAddress(f"callback host {host} refused: {reason}")


class AsyncioStream(httpcore.AsyncNetworkStream):
    """A plain asyncio stream for httpcore.

    httpcore's own anyio stream opens a cancel scope on every read and write
    and rebuilds a dict of socket attributes each time the pool checks an idle
    connection; at a thousand webhooks a second that was a third of the
    sender's CPU. Timeouts: the sender bounds each attempt as a whole
    (`asyncio.timeout`), so the per-operation ones are applied only here at
    connect and TLS time.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._sock = writer.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return await self._reader.read(max_bytes)
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            await self._writer.drain()
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except (OSError, ssl.SSLError, TimeoutError) as exc:
            self._writer.close()
            raise httpcore.ConnectError(f"TLS: {exc}") from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # The pool asks of idle keep-alive connections: readable means closed
            # by the peer. The loop has seen the EOF by then (a FIN still in
            # flight is a race any check has; that attempt just fails and is retried).
            return self._reader.at_eof() or self._writer.is_closing()
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "socket":
            return self._sock
        if info in ("client_addr", "server_addr"):
            name = "sockname" if info == "client_addr" else "peername"
            return self._writer.get_extra_info(name)
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(local_address, 0) if local_address else None
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"connect to {host}:{port} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for option in socket_options or ():
                sock.setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that resolves, vets, then connects to a vetted IP."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or AsyncioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout
            )
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        vetted = check_addresses(host, dict.fromkeys(str(info[4][0]) for info in infos))
        error: Exception | None = None
        for ip in vetted:
            try:
                return await self._inner.connect_tcp(
                    ip, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedAddress("unix sockets are not callback targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class Transport(httpx.AsyncHTTPTransport):
    """httpx's transport over our network backend (guarded unless private is allowed)."""

    def __init__(
        self,
        backend: httpcore.AsyncNetworkBackend,
        max_connections: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(limits=httpx.Limits(max_connections=max_connections))
        # httpx takes no network backend; its httpcore pool does, so build that pool.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            network_backend=backend,
        )


def transport(allow_private: bool, max_connections: int) -> httpx.AsyncHTTPTransport:
    backend = AsyncioBackend() if allow_private else GuardedBackend()
    return Transport(backend, max_connections)
