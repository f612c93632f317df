"""What attacks on the dashboard cost a real `simgate serve` process: memory and disk.

Only a process shows it: its resident memory (VmRSS, and the peak VmHWM, reset
before each attack through /proc/PID/clear_refs) and the bytes it writes
(`wchar` in /proc/PID/io: a spooled upload is written there, a small answer
is a few KB). One server for the module, on SQLite: no storage is involved.
"""

from __future__ import annotations

import os
import select
import socket
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import httpx
import pytest

from simgate.config import Settings
from simgate.services.accounts import create_account
from simgate.services.passwords import set_password
from simgate.store.db import make_engine, upgrade
from tests.support.servers import ServerProcess
from tests.web.helpers import PASSWORD, csrf_of, signed_in_client

pytestmark = pytest.mark.e2e

MB = 1024 * 1024
CHUNK = b"x" * (64 * 1024)
EMAIL = "owner@example.com"


@dataclass
class Gateway:
    server: ServerProcess
    spool: Path
    cookies: httpx.Cookies  # a signed-in owner's session, taken before any attack

    @property
    def pid(self) -> int:
        assert self.server.proc is not None
        return self.server.proc.pid


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    base = tmp_path_factory.mktemp("limits")
    settings = Settings(data_dir=base / "data")
    engine = make_engine(settings)
    upgrade(engine)
    create_account(engine, EMAIL)
    set_password(engine, EMAIL, PASSWORD)
    engine.dispose()
    spool = base / "spool"  # the server's TMPDIR: where Starlette would spool uploads
    spool.mkdir()
    with ServerProcess(settings, env={"TMPDIR": str(spool)}) as server:
        with signed_in_client(server.url, EMAIL) as owner:
            owner.get("/app/")  # warm up: first page, templates compiled
            cookies = httpx.Cookies(owner.cookies)
        yield Gateway(server, spool, cookies)


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def written(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError(f"no wchar for {pid}")


class Measure:
    """Peak memory growth and bytes written by the server during a with-block."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def __enter__(self) -> Measure:
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
        self.rss_before = status_kb(self.pid, "VmRSS")
        self.written_before = written(self.pid)
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak_growth_mb = (status_kb(self.pid, "VmHWM") - self.rss_before) / 1024
        self.written_mb = (written(self.pid) - self.written_before) / MB


def stream(port: int, head: str, body: Iterable[bytes], chunked: bool = False) -> tuple[int, int]:
    """Send a request whose body streams until the server answers.

    Returns (status, bytes of body sent); status 0 when the server closed
    without an answer. A raw socket, because an HTTP client would not read an
    answer before it has sent the whole body.
    """
    head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else "\r\n"
    chunks = iter(body)
    pending = b""
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head.encode())
        sock.setblocking(False)
        while b"\r\n" not in answer:
            more = pending or chunks is not None
            readable, writable, _ = select.select([sock], [sock] if more else [], [], 60)
            if readable:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    break
                if not data:
                    break
                answer += data
            elif writable:
                if not pending and chunks is not None:
                    chunk = next(chunks, None)
                    if chunk is None:
                        chunks = None
                        pending = b"0\r\n\r\n" if chunked else b""
                    else:
                        sent += len(chunk)
                        pending = b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
                try:
                    pending = pending[sock.send(pending) :]
                except (BrokenPipeError, ConnectionResetError):
                    chunks, pending = None, b""
            else:
                raise AssertionError("no answer within 60 s")
    return (int(answer.split(b" ", 2)[1]) if answer else 0), sent


def body_of(size: int) -> Iterator[bytes]:
    """`size` bytes in 64 KB chunks, without holding them in memory."""
    full, rest = divmod(size, len(CHUNK))
    yield from repeat(CHUNK, full)
    if rest:
        yield CHUNK[:rest]


def form_fields(fields: int, size: int) -> Iterator[bytes]:
    """A urlencoded body of `fields` fields of `size` bytes each."""
    for i in range(fields):
        yield f"{'&' if i else ''}f{i}=".encode()
        yield from body_of(size)


def form_length(fields: int, size: int) -> int:
    return sum(len(f"{'&' if i else ''}f{i}=") + size for i in range(fields))


def multipart(size: int, boundary: str = "b0undary") -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    yield from body_of(size)
    yield f"\r\n--{boundary}--\r\n".encode()


def head(path: str, content_type: str, length: int | None = None, cookie: str = "") -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: {content_type}"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if cookie:
        lines.append(f"Cookie: {cookie}")
    return "\r\n".join(lines) + "\r\n"


def spooled(gateway: Gateway) -> list[str]:
    """Files the server holds or left in its TMPDIR (an open spool is unlinked, still held)."""
    held = []
    for fd in os.listdir(f"/proc/{gateway.pid}/fd"):
        try:
            target = os.readlink(f"/proc/{gateway.pid}/fd/{fd}")
        except FileNotFoundError:  # closed meanwhile
            continue
        if target.startswith(str(gateway.spool)):
            held.append(target)
    return held + os.listdir(gateway.spool)


FORM = "application/x-www-form-urlencoded"
UPLOAD = "multipart/form-data; boundary=b0undary"


def test_memory_exhaustion_by_dashboard_posts_is_capped(gateway: Gateway) -> None:
    """Signed out, with and without Content-Length: 413 before parsing, < 20 MB, no spool."""
    port = gateway.server.port
    attacks = [
        # 50 fields of 4 MB at the sign-in form: declared, then streamed.
        ("/app/login", FORM, form_length(50, 4 * MB), lambda: form_fields(50, 4 * MB)),
        ("/app/login", FORM, None, lambda: form_fields(50, 4 * MB)),
        # A gigabyte at any form.
        ("/app/keys", FORM, 1024 * MB, lambda: body_of(1024 * MB)),
        ("/app/keys", FORM, None, lambda: body_of(1024 * MB)),
        # 300 MB files: at the CSV import (whose own limit is 5 MB) and elsewhere.
        ("/app/contacts/import", UPLOAD, 300 * MB + 200, lambda: multipart(300 * MB)),
        ("/app/contacts/import", UPLOAD, None, lambda: multipart(300 * MB)),
        ("/app/login", UPLOAD, None, lambda: multipart(300 * MB)),
    ]
    for path, content_type, length, body in attacks:
        with Measure(gateway.pid) as cost:
            status, sent = stream(
                port, head(path, content_type, length), body(), chunked=length is None
            )
        what = f"{path} {content_type} length={length}: {status} after {sent / MB:.1f} MB"
        if length is not None:
            assert status == 413, what  # the declared length alone is refused
        else:
            # Cut at the form limit (413), or, for an upload, sent to sign in first.
            assert status in (413, 303), what
            assert sent < 64 * MB, what
        assert cost.peak_growth_mb < 20, f"{what}: grew {cost.peak_growth_mb:.1f} MB"
        assert cost.written_mb < 1, f"{what}: wrote {cost.written_mb:.1f} MB"
        assert not spooled(gateway), what


def test_an_owners_upload_is_cut_at_the_csv_limit(gateway: Gateway) -> None:
    """Signed in, a 300 MB file streams until the 5 MB limit, then 413; nothing is kept."""
    cookie = "; ".join(f"{name}={value}" for name, value in gateway.cookies.items())
    with httpx.Client(base_url=gateway.server.url, cookies=gateway.cookies) as owner:
        page = owner.get("/app/contacts")
        assert page.status_code == 200
        token = csrf_of(page.text)

    def body() -> Iterator[bytes]:
        yield (
            f'--b0undary\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        ).encode()
        yield from multipart(300 * MB)

    for length in (None, 300 * MB + 400):
        with Measure(gateway.pid) as cost:
            status, sent = stream(
                gateway.server.port,
                head("/app/contacts/import", UPLOAD, length, cookie),
                body(),
                chunked=length is None,
            )
        assert status == 413, (length, status)
        assert sent < 64 * MB
        assert cost.peak_growth_mb < 20, cost.peak_growth_mb
        assert not spooled(gateway)


def test_concurrent_sign_ins_hold_two_argon2_checks_at_most(gateway: Gateway) -> None:
    """60 sign-ins at once grew the server by 2.5 GB (64 MiB of argon2 per thread, 40
    threads): now the limit counts them before checking and two checks run at a time."""
    with httpx.Client(base_url=gateway.server.url, timeout=120) as visitor:
        token = csrf_of(visitor.get("/app/login").text)
        start = threading.Barrier(60)

        def attempt(i: int) -> int:
            start.wait()
            data = {"email": f"guess{i}@example.com", "password": "a guess", "csrf_token": token}
            return visitor.post("/app/login", data=data).status_code

        with Measure(gateway.pid) as cost, ThreadPoolExecutor(60) as pool:
            statuses = list(pool.map(attempt, range(60)))
    checked = statuses.count(401)
    assert 1 <= checked <= 10, statuses  # 10 a minute from one address
    assert statuses.count(429) + statuses.count(503) == 60 - checked, statuses
    assert cost.peak_growth_mb < 300, f"grew {cost.peak_growth_mb:.0f} MB"
