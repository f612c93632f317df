"""HTTPS callbacks: the guarded connect pins the vetted IP, TLS still speaks to the name.

A local TLS server on loopback with a throwaway certificate for `localhost`
(made with the openssl command) stands in for a public receiver.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from simgate.services import urlguard
from simgate.services.urlguard import AsyncioBackend, GuardedBackend, Transport

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    key, crt = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(crt), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return key, crt


async def _serve(cert: tuple[Path, Path], seen: dict[str, Any]) -> asyncio.Server:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert[1]), str(cert[0]))

    def sni(_sock: Any, name: str | None, _ctx: Any) -> None:
        seen["sni"] = name

    context.sni_callback = sni

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        seen["request_line"] = head.split("\r\n")[0]
        seen["host"] = next(
            line.split(":", 1)[1].strip()
            for line in head.split("\r\n")
            if line.lower().startswith("host:")
        )
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)


async def _get(backend: Any, cert: tuple[Path, Path], url: str) -> httpx.Response:
    trust = ssl.create_default_context(cafile=str(cert[1]))
    async with httpx.AsyncClient(transport=Transport(backend, 4, trust), trust_env=False) as c:
        return await c.get(url)


async def test_https_through_the_asyncio_backend(cert: tuple[Path, Path]) -> None:
    seen: dict[str, Any] = {}
    server = await _serve(cert, seen)
    port = server.sockets[0].getsockname()[1]
    async with server:
        answer = await _get(AsyncioBackend(), cert, f"https://localhost:{port}/hook?status=%7B%7D")
    assert answer.status_code == 200
    assert seen == {
        "sni": "localhost",
        "host": f"localhost:{port}",
        "request_line": "GET /hook?status=%7B%7D HTTP/1.1",
    }


async def test_guarded_https_pins_the_ip_and_keeps_sni_and_host(
    cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    server = await _serve(cert, seen)
    port = server.sockets[0].getsockname()[1]
    connected: list[str] = []

    class Spy(AsyncioBackend):
        async def connect_tcp(self, host: str, port: int, *args: Any, **kw: Any) -> Any:
            connected.append(host)
            return await super().connect_tcp(host, port, *args, **kw)

    async with server:
        url = f"https://localhost:{port}/hook"
        with pytest.raises(urlguard.RefusedAddress):  # loopback: refused as it should be
            await _get(GuardedBackend(Spy()), cert, url)
        assert connected == []
        # Pretend loopback were public to watch a vetted connection go through.
        monkeypatch.setattr(urlguard, "problem", lambda address: None)
        answer = await _get(GuardedBackend(Spy()), cert, url)
    assert answer.status_code == 200
    assert connected[-1] == "127.0.0.1" and "localhost" not in connected  # the checked IP
    assert (
        seen["sni"] == "localhost" and seen["host"] == f"localhost:{port}"
    )  # certificate for the name
