"""What the benchmarks share beyond simgate.testing (processes on loopback):
running the command line as a step that must succeed, and a process's CPU time.

The benchmarks import it as a sibling module (`python bench/<name>.py` puts
bench/ on the path).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from simgate.config import Settings
from simgate.testing import simgate


def cli(settings: Settings, *args: str, env: dict[str, str] | None = None) -> str:
    """The output of a `simgate` command against the store of `settings`; a
    failure ends the benchmark with the command's error."""
    done = simgate(*args, settings=settings, env=env or {}, timeout=None)
    if done.returncode != 0:
        raise SystemExit(f"simgate {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux), to tell the server's
    cost from the noise of other work on a shared machine; NaN if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SIM_DIR = Path(__file__).resolve().parents[1] / "tests" / "smsc_sim"


def start_simulator() -> tuple[subprocess.Popen[bytes], int]:
    """The tests' SMSC simulator on a free loopback port; its process and SMPP port."""
    node = shutil.which("node")
    if node is None or not (SIM_DIR / "node_modules" / "smpp").exists():
        raise SystemExit("needs node and `npm ci` in tests/smsc_sim")
    env = {**os.environ, "SMSC_SMPP_PORT": "0", "SMSC_HTTP_PORT": "0"}
    proc = subprocess.Popen([node, "smsc-sim.js"], cwd=SIM_DIR, env=env, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    ports = json.loads(proc.stdout.readline())
    return proc, int(ports["smpp_port"])
