"""The SMSC simulator (tests/smsc_sim, smpp.md §12) as a child process.

`SmscSimulator` starts `node smsc-sim.js` on free loopback ports (the
simulator picks them and prints them as a JSON line), waits for its /health
and gives a small client for its control API. `missing()` says why it cannot
run here (no node, or `npm ci` not run in tests/smsc_sim).
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from simgate.testing import stop_process
from tests.support.polling import wait_for

SIM_DIR = Path(__file__).parents[1] / "smsc_sim"
SYSTEM_ID = "test"
PASSWORD = "test"


def missing() -> str | None:
    """Why the simulator cannot start here, or None."""
    if shutil.which("node") is None:
        return "node missing: install nodejs to run the SMPP tests"
    if not (SIM_DIR / "node_modules" / "smpp").exists():
        return "npm package smpp missing: run `npm ci` in tests/smsc_sim"
    return None


class SmscSimulator:
    """One simulator process; `env` sets SMSC_* variables (see smsc-sim.js)."""

    def __init__(self, **env: str | int) -> None:
        self.env = {key.upper(): str(value) for key, value in env.items()}
        self.proc: subprocess.Popen[bytes] | None = None
        self.smpp_port = 0
        self.http_port = 0
        self._client: httpx.Client | None = None

    def start(self) -> SmscSimulator:
        env = {**os.environ, "SMSC_SMPP_PORT": "0", "SMSC_HTTP_PORT": "0", **self.env}
        self.proc = subprocess.Popen(
            [str(shutil.which("node")), "smsc-sim.js"],
            cwd=SIM_DIR,
            env=env,
            stdout=subprocess.PIPE,
        )
        ports = json.loads(self._first_line(timeout=15))
        self.smpp_port, self.http_port = int(ports["smpp_port"]), int(ports["http_port"])
        self._client = httpx.Client(base_url=f"http://127.0.0.1:{self.http_port}", timeout=10)
        wait_for(self._up, timeout=15, every=0.05)
        return self

    def _first_line(self, timeout: float) -> bytes:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if selector.select(timeout=0.1):
                    line = self.proc.stdout.readline()
                    if line:
                        return line
                if self.proc.poll() is not None:
                    break
        self.stop()
        raise RuntimeError("the SMSC simulator did not print its ports")

    def _up(self) -> bool:
        try:
            return self.control.get("/health").status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def control(self) -> httpx.Client:
        assert self._client is not None, "start() first"
        return self._client

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, grace=5)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> SmscSimulator:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- control API (smsc-sim.js)

    def _get(self, path: str) -> Any:
        response = self.control.get(path)
        response.raise_for_status()
        return response.json()

    def _post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        response = self.control.post(path, json=body or {})
        response.raise_for_status()
        return response

    def health(self) -> dict[str, Any]:
        return dict(self._get("/health"))

    def submits(self) -> list[dict[str, Any]]:
        return list(self._get("/submits"))

    def messages(self) -> list[dict[str, Any]]:
        return list(self._get("/messages"))

    def dlrs(self) -> list[dict[str, Any]]:
        return list(self._get("/dlrs"))

    def mos(self) -> list[dict[str, Any]]:
        return list(self._get("/mos"))

    def reset(self) -> None:
        """Drop every connection, forget every record, forced status and queued
        delivery; back to the start config."""
        self._post("/reset")

    def reject(self, status: int, count: int = 1) -> None:
        """Answer the next `count` submits with `status`."""
        self._post("/reject", {"status": status, "count": count})

    def disconnect(self) -> int:
        """Drop every SMPP connection; how many there were."""
        return int(self._post("/disconnect").json()["closed"])

    def unbind(self) -> int:
        """Send unbind on every bound session (closed once answered); how many."""
        return int(self._post("/unbind").json()["unbound"])

    def mo(self, sender: str, to: str, text: str, **extra: Any) -> bool:
        """Send an MO deliver_sm (`data_coding`, `vendor_tlv_hex`, `lose_ack` in
        extra; `lose_ack=True`: the connection drops as the ESME answers, and the
        MO comes again on the next bind); True if a receiver was bound, False if
        it was queued."""
        response = self._post("/mo", {"from": sender, "to": to, "text": text, **extra})
        return response.status_code == 200

    def configure(self, **config: int) -> dict[str, Any]:
        """Change receipt_delay_ms, resp_delay_ms, window, enquire_ms, receipt_date_digits."""
        return dict(self._post("/config", config).json())
