"""Debian's Caddy in front of a server, as docs/deploy.md configures it.

The configuration is docs/deploy/Caddyfile.template, the one the docs show
(with DOCUMENTED values). What differs here is only what a test machine
needs: loopback addresses and ports, and global options (TEST_OPTIONS) that
keep Caddy to itself: no admin endpoint, its storage under its own folder,
and certificates from its own local CA (`local_certs`) rather than from an
ACME server, never installed in the system's trust store. Clients trust that
CA through `tls_context`. Caddy runs as this user, in the foreground, with
HOME and the XDG folders pointed into its folder: /etc/caddy and the user's
home are never read or written.
"""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

from simgate.testing import free_port
from tests.support.proxy_process import ProxyProcess

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "docs" / "deploy" / "Caddyfile.template"
CADDY = shutil.which("caddy") or next(
    (p for p in ("/usr/bin/caddy", "/usr/local/bin/caddy") if Path(p).exists()), None
)

# The values docs/deploy.md shows the template with (no test options: Caddy
# then gets the certificate from Let's Encrypt and listens on 80 and 443).
DOCUMENTED = {"SITE": "sms.example.com", "UPSTREAM": "127.0.0.1:8000", "TEST_OPTIONS": ""}

# Global options of the test, in place of @TEST_OPTIONS@.
TEST_OPTIONS = """\
admin off
default_bind 127.0.0.1 [::1]
http_port {http_port}
https_port {https_port}
storage file_system {folder}/data
local_certs
skip_install_trust
ocsp_stapling off
grace_period 1s"""


def render(**values: str) -> str:
    """The template with `@NAME@` replaced by each value (all must be given);
    an empty TEST_OPTIONS drops its line."""
    text = TEMPLATE.read_text()
    options = values.pop("TEST_OPTIONS")
    if options:
        text = text.replace("@TEST_OPTIONS@", options.replace("\n", "\n\t"))
    else:
        text = text.replace("\t@TEST_OPTIONS@\n", "")
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    # (Caddy's named matchers start with @ too, "@body_too_large".)
    assert re.search("@[A-Z_]+@", text) is None, "a placeholder left"
    return text


def missing() -> str | None:
    """Why these tests cannot run here, or None."""
    if CADDY is None:
        return "caddy is not installed (Debian: apt-get install caddy; CI installs it)"
    return None


class Caddy(ProxyProcess):
    """Caddy with TLS on `https_port` of 127.0.0.1 and ::1 and plain HTTP (a
    redirect) on `http_port`; `start(upstream)` proxies to upstream (host:port)."""

    log_name = "caddy.log"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.https_port, self.http_port = free_port(), free_port()
        self.url = f"https://127.0.0.1:{self.https_port}"
        self.url6 = f"https://[::1]:{self.https_port}"
        self.config = folder / "Caddyfile"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def root_certificate(self) -> Path:
        """The local CA's root, made by Caddy on its first start."""
        return self.folder / "data" / "pki" / "authorities" / "local" / "root.crt"

    def tls_context(self) -> ssl.SSLContext:
        """A client context that trusts this Caddy's local CA, and only it."""
        return ssl.create_default_context(cafile=str(self.root_certificate))

    def configure(self, upstream: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        options = TEST_OPTIONS.format(
            http_port=self.http_port, https_port=self.https_port, folder=self.folder
        )
        self.config.write_text(render(SITE="127.0.0.1, [::1]", UPSTREAM=upstream,
                                      TEST_OPTIONS=options))  # fmt: skip

    def _env(self) -> dict[str, str]:
        # Caddy keeps its autosaved configuration and default storage under
        # these; the PATH is all else it needs.
        home = self.folder / "home"
        return {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
        }

    def check(self) -> subprocess.CompletedProcess[str]:
        """`caddy validate` on the configuration (adapts and provisions it)."""
        assert CADDY is not None
        return subprocess.run(
            [CADDY, "validate", "--adapter", "caddyfile", "--config", str(self.config)],
            capture_output=True, text=True, timeout=30, env=self._env(),
        )  # fmt: skip

    def start(self, upstream: str) -> Caddy:
        """Configure for `upstream` and start; returns once a client that
        trusts the local CA completes a TLS handshake on both addresses.
        Stop with `stop` (or `with`)."""
        assert CADDY is not None
        self.configure(upstream)
        with (self.folder / "caddy.log").open("wb") as log:
            self.proc = subprocess.Popen(
                [CADDY, "run", "--adapter", "caddyfile", "--config", str(self.config)],
                stdout=log, stderr=subprocess.STDOUT, env=self._env(),
            )  # fmt: skip
        deadline = time.monotonic() + 15
        while not (self._answers("127.0.0.1") and self._answers("::1")):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("caddy did not start:\n" + self.errors())
            time.sleep(0.05)
        return self

    def _answers(self, host: str) -> bool:
        # The CA and the certificate are made a moment after the port opens.
        try:
            with (
                socket.create_connection((host, self.https_port), timeout=1) as sock,
                self.tls_context().wrap_socket(sock, server_hostname=host),
            ):
                return True
        except OSError:  # refused, no CA file yet, or no certificate yet
            return False
