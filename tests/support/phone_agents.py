"""`simgate device run` with a real-phone driver, as a process (the simulator's
is tests/support/agents.py), and what end-to-end phone tests share: pairing
through the command line, the webhook payloads a receiver got."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from simgate.services.accounts import create_account
from simgate.services.webhook_admin import set_callbacks
from tests.support.servers import LiveServer, simgate
from tests.webhooks.conftest import Recorder

REPO = Path(__file__).resolve().parents[2]


def _ctrl_c_as_in_a_terminal() -> None:
    """In the agent's process: SIGINT back to its default. A test run started
    in the background of a non-interactive shell ignores SIGINT, and its
    children inherit that; `interrupt` must act as Ctrl-C in a terminal does."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class AgentProcess:
    """The agent as a user starts it. With `closure` (a spec file, see
    agent_closure.py) it runs under the import guard of a Termux phone."""

    def __init__(
        self,
        server: str,
        token: str,
        folder: Path,
        *flags: str,
        env: dict[str, str] | None = None,
        closure: Path | None = None,
    ) -> None:
        self.server, self.token, self.folder, self.flags = server, token, folder, flags
        self.env = {**os.environ, **(env or {})}
        self.closure = closure
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> AgentProcess:
        self.folder.mkdir(parents=True, exist_ok=True)
        args = ["device", "run", "--server", self.server, "--token", self.token]
        args += ["--state-dir", str(self.folder / "state"), *self.flags]
        if self.closure is None:
            command = [sys.executable, "-m", "simgate.cli", *args]
        else:
            boot = "from tests.support.agent_closure import main; main()"
            command = [sys.executable, "-c", boot, str(self.closure), "--", *args]
        with open(self.folder / "agent.log", "ab") as log:
            self.proc = subprocess.Popen(
                command,
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_ctrl_c_as_in_a_terminal,
            )
        return self

    def exited(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def interrupt(self) -> int:
        """Ctrl-C, as a user stops it; its exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(30)

    def terminate(self) -> int:
        """SIGTERM, as systemd or `docker stop` stops it; its exit code."""
        assert self.proc is not None
        self.proc.terminate()
        return self.proc.wait(30)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def log(self) -> str:
        return (self.folder / "agent.log").read_text(errors="replace")


def account_with_phone(live: LiveServer, receiver: Recorder) -> dict[str, Any]:
    """A fresh account whose callbacks point at `receiver`, and a device paired
    to it the documented way (`simgate devices add EMAIL --name N --json`)."""
    email = f"{secrets.token_hex(4)}@example.com"
    account, key = create_account(live.engine, email, "Europe/Paris", "FR")
    urls = {kind: receiver.url + "/hook" for kind in ("status", "message", "calls")}
    set_callbacks(live.engine, email, urls, allow_private=True)
    pair = ["devices", "add", email, "--name", "phone", "--rate", "600", "--json"]
    paired = simgate(*pair, settings=live.settings)
    assert paired.returncode == 0, paired.stderr
    token = json.loads(paired.stdout)["token"]
    return {"login": account.email, "accessKey": key, "token": token}


def payloads(receiver: Recorder, kind: str) -> list[dict[str, Any]]:
    """The JSON of every acknowledged webhook of `kind` (`?kind=<json>`)."""
    found = []
    for request in receiver.acked():
        query = parse_qs(urlsplit(request["target"]).query)
        if kind in query:
            found.append(json.loads(query[kind][0]))
    return found


# A message's life, for ordering its events when they carry the same time.
LIFE_CYCLE = {"sent": 0, "received": 1, "failed": 2, "expired": 2}


def status_events(receiver: Recorder) -> dict[str, list[str]]:
    """Each message's status events (id_sms_api → statuses), read as
    docs/webhooks.md tells a receiver to: delivery is at least once and
    unordered, so repeats of one event (same webhook-id) count once and
    events are ordered by `date_status`. Two distinct events with one status
    still show twice: a device report applied twice is not hidden."""
    events: dict[str, dict[str, Any]] = {}
    for request in receiver.acked():
        query = parse_qs(urlsplit(request["target"]).query)
        if "status" in query:
            events.setdefault(request["headers"]["webhook-id"], json.loads(query["status"][0]))
    found: dict[str, list[dict[str, Any]]] = {}
    for event in events.values():
        found.setdefault(event["id_sms_api"], []).append(event)
    return {
        sms_id: [
            e["status"]
            for e in sorted(got, key=lambda e: (e["date_status"], LIFE_CYCLE[e["status"]]))
        ]
        for sms_id, got in found.items()
    }


def statuses(receiver: Recorder, id_sms_api: str) -> list[str]:
    return status_events(receiver).get(id_sms_api, [])
