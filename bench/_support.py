"""What the benchmarks share beyond simgate.testing (processes on loopback):
running the command line as a step that must succeed, and a process's CPU time.

The benchmarks import it as a sibling module (`python bench/<name>.py` puts
bench/ on the path).
"""

from __future__ import annotations

import os
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
