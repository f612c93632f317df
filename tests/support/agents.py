"""The reference agent as a real process, for tests and benchmarks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


class Agent:
    """`simgate device run --driver simulator` as a real process."""

    def __init__(self, server: str, token: str, folder: Path, *flags: str) -> None:
        self.server, self.token, self.folder, self.flags = server, token, folder, flags
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Agent:
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
