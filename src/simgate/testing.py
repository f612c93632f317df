"""simgate as real processes on loopback: the command line, `simgate serve`
and the reference agent with its simulator driver.

For simgate's own tests and benchmarks, and for integration tests of your
own (a webhook receiver against a real gateway, say). Imported by path only:
`import simgate` never loads it. Nothing here opens a port other than
127.0.0.1.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from simgate.config import Settings

__all__ = ["AgentProcess", "ServerProcess", "free_port", "settings_env", "simgate"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now; another process may take it
    before it is used (see `ServerProcess.start`, which tries again)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listens_on(pid: int, port: int) -> bool:
    """Whether process `pid` holds the socket listening on TCP `port` (Linux,
    from /proc; True where /proc cannot tell)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local address "ADDR:PORT" in hex, state 0A = LISTEN, inode in field 9
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return not Path("/proc/net/tcp").exists()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return True
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                return True
        except OSError:
            continue
    return False


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment that makes a `simgate` subprocess use the store of `settings`
    (and accept loopback callback URLs)."""
    env = dict(os.environ)
    env["SIMGATE_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url:
        env["SIMGATE_DATABASE_URL"] = settings.database_url
    else:
        env.pop("SIMGATE_DATABASE_URL", None)
    env["SIMGATE_ALLOW_PRIVATE_CALLBACKS"] = "true"
    return env


def simgate(*args: str, settings: Settings, **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run the `simgate` command line against the store of `settings`; `env`
    adds variables, other keywords go to subprocess.run."""
    return subprocess.run(
        [sys.executable, "-m", "simgate.cli", *args],
        env={**settings_env(settings), **kw.pop("env", {})},
        capture_output=True,
        text=True,
        timeout=kw.pop("timeout", 60),
        **kw,
    )


def stop_process(proc: subprocess.Popen[Any], grace: float = 10) -> None:
    """Ask a child process to stop (SIGTERM) and kill it if it has not within
    `grace` seconds; nothing if it has already ended."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(grace)


class PortTaken(RuntimeError):
    """The server could not bind its port: another process had it."""


class ServerProcess:
    """`simgate serve` as a real process; `start` returns once it is ready."""

    def __init__(
        self,
        settings: Settings,
        *extra: str,
        port: int | None = None,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self._port_chosen = port is None
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra = extra
        self.env = {**settings_env(settings), **(env or {})}
        self._log_given = log_path is not None
        self.log_path = log_path or self._default_log()
        self.preexec_fn = preexec_fn  # e.g. resource limits for the server alone
        self.proc: subprocess.Popen[bytes] | None = None

    def _default_log(self) -> Path:
        return Path(self.settings.data_dir).parent / f"server-{self.port}.log"

    def start(self) -> ServerProcess:
        # A port picked here was free when picked; a parallel process can bind
        # it before this server does. Then try another, which only a server
        # whose port the caller did not fix may do.
        for _ in range(4):
            try:
                return self._start()
            except PortTaken:
                if not self._port_chosen:
                    raise
                self.port = free_port()
                self.url = f"http://127.0.0.1:{self.port}"
                if not self._log_given:
                    self.log_path = self._default_log()
        return self._start()

    def _start(self) -> ServerProcess:
        Path(self.log_path).parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "simgate.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), *self.extra],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=self.preexec_fn,
            )  # fmt: skip
        # A guard, not a measure: on two cores shared by parallel test workers
        # a start (some seconds of CPU) has taken more than 30 s.
        deadline = time.monotonic() + 90
        while True:
            try:
                # Ready, not only up: its workers run and, on PostgreSQL, it LISTENs.
                # And ours: a process that took the port first (another test's
                # server) answers too, and this one then fails to bind.
                if httpx.get(
                    self.url + "/readyz", timeout=1
                ).status_code == 200 and listens_on(self.proc.pid, self.port):
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()  # not left running behind the failure (and its warning)
                tail = Path(self.log_path).read_text()[-3000:]
                if "address already in use" in tail:
                    raise PortTaken(f"port {self.port} taken; see {self.log_path}")
                raise RuntimeError(f"server did not start; see {self.log_path}:\n" + tail)
            time.sleep(0.1)

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class AgentProcess:
    """`simgate device run --driver simulator` as a real process: a virtual
    phone whose state (and the ids it sent) lives in `folder`."""

    def __init__(self, server: str, token: str, folder: Path, *flags: str) -> None:
        self.server, self.token, self.folder, self.flags = server, token, folder, flags
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> AgentProcess:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "agent.log", "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "simgate.cli",
                    "device",
                    "run",
                    "--server",
                    self.server,
                    "--token",
                    self.token,
                    "--driver",
                    "simulator",
                    "--state-dir",
                    str(self.folder),
                    *self.flags,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def sent(self) -> list[str]:
        path = self.folder / "sent.log"
        # Message ids (a command id is "<message>.<attempt>").
        return [line.split(".")[0] for line in path.read_text().split()] if path.exists() else []
