"""Debian's nginx in front of a server, as docs/deploy.md configures it.

The site configuration is docs/deploy/nginx.conf.template, the one the docs
show (with DOCUMENTED values); only the addresses and the certificate differ.
nginx runs as this user, in the foreground and as one process, with every
file it writes under its own folder, on loopback ports: root is not needed.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from simgate.testing import free_port
from tests.support.proxy_process import ProxyProcess

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "docs" / "deploy" / "nginx.conf.template"
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
)
OPENSSL = shutil.which("openssl")

# The values docs/deploy.md shows the template with.
DOCUMENTED = {
    "UPSTREAM": "127.0.0.1:8000",
    "HTTP": "80",
    "HTTP6": "[::]:80",
    "HTTPS": "443",
    "HTTPS6": "[::]:443",
    "SERVER_NAME": "sms.example.com",
    "CERTIFICATE": "/etc/letsencrypt/live/sms.example.com/fullchain.pem",
    "CERTIFICATE_KEY": "/etc/letsencrypt/live/sms.example.com/privkey.pem",
}

# What a packaged nginx.conf gives the site file: here, everything in `folder`.
MAIN = """\
daemon off;
master_process off;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/simgate.conf;
}}
"""


def render(**values: str) -> str:
    """The template with `@NAME@` replaced by each value (all must be given)."""
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    assert "@" not in text.replace("@api_body_too_large", ""), "a placeholder left"
    return text


def missing() -> str | None:
    """Why these tests cannot run here, or None."""
    if NGINX is None:
        return "nginx is not installed (Debian: apt-get install nginx; CI installs it)"
    if OPENSSL is None:
        return "the openssl command is not installed"
    return None


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1 and ::1: (cert, key)."""
    assert OPENSSL is not None
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=simgate test", "-keyout", str(key),
         "-out", str(cert), "-addext", "subjectAltName=IP:127.0.0.1,IP:0:0:0:0:0:0:0:1"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


class Nginx(ProxyProcess):
    """nginx with TLS on `https_port` of 127.0.0.1 and ::1 and plain HTTP (a
    redirect) on `http_port`; `start(upstream)` proxies to upstream (host:port)."""

    log_name = "error.log"

    def __init__(self, folder: Path, cert: Path, key: Path) -> None:
        self.folder, self.cert, self.key = folder, cert, key
        self.https_port, self.http_port = free_port(), free_port()
        self.url = f"https://127.0.0.1:{self.https_port}"
        self.url6 = f"https://[::1]:{self.https_port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def configure(self, upstream: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        site = render(
            UPSTREAM=upstream,
            HTTP=f"127.0.0.1:{self.http_port}",
            HTTP6=f"[::1]:{self.http_port}",
            HTTPS=f"127.0.0.1:{self.https_port}",
            HTTPS6=f"[::1]:{self.https_port}",
            SERVER_NAME="localhost",
            CERTIFICATE=str(self.cert),
            CERTIFICATE_KEY=str(self.key),
        )
        (self.folder / "simgate.conf").write_text(site)
        (self.folder / "nginx.conf").write_text(MAIN.format(folder=self.folder))

    def check(self) -> subprocess.CompletedProcess[str]:
        """`nginx -t` on the configuration."""
        return subprocess.run(self._command("-t"), capture_output=True, text=True, timeout=30)

    def _command(self, *extra: str) -> list[str]:
        assert NGINX is not None
        conf = str(self.folder / "nginx.conf")
        return [NGINX, "-p", str(self.folder), "-e", str(self.folder / "error.log"), "-c", conf,
                *extra]  # fmt: skip

    def start(self, upstream: str) -> Nginx:
        """Configure for `upstream` and start; stop with `stop` (or `with`)."""
        self.configure(upstream)
        self.proc = subprocess.Popen(
            self._command(), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.https_port), timeout=1):
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("nginx did not start:\n" + self.errors())
            time.sleep(0.02)
