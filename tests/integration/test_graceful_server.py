"""serve's stop bound (serving.GracefulServer): what happens when a stop hangs.

A whole stop through a real SIGTERM is tests/devices/test_graceful_restart.py;
here only the watchdog, which no real stop reaches unless something hangs.
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import uvicorn

from simgate import serving
from simgate.config import Settings


def test_a_stop_past_its_bound_exits_1_and_says_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    exits: list[int] = []
    monkeypatch.setattr(os, "_exit", exits.append)
    runtime = SimpleNamespace(settings=Settings(shutdown_timeout_seconds=7), shutdown_deadline=None)
    server = serving.GracefulServer(uvicorn.Config(app=None), runtime)  # type: ignore[arg-type]
    runtime.shutdown_deadline = time.monotonic() + 0.05
    with caplog.at_level(logging.ERROR, logger="simgate.serving"):
        server._cut_off()  # the watchdog thread's body, run here
    assert exits == [1]
    assert "shutdown took over 7 s" in caplog.text


def test_the_bound_is_a_setting_from_a_second_to_an_hour() -> None:
    assert Settings().shutdown_timeout_seconds == 30
    assert Settings(shutdown_timeout_seconds=5).shutdown_timeout_seconds == 5
    for bad in (0.5, 3601, float("inf"), float("nan")):
        with pytest.raises(ValueError):
            Settings(shutdown_timeout_seconds=bad)


def test_the_documented_systemd_unit_waits_longer_than_the_bound() -> None:
    """systemd kills (SIGKILL) a stop that outlasts TimeoutStopSec: it must exceed the bound."""
    unit = (Path(__file__).parents[2] / "docs" / "deploy.md").read_text()
    stop_sec = re.search(r"^TimeoutStopSec=(\d+)$", unit, re.MULTILINE)
    bound = re.search(r"^Environment=SIMGATE_SHUTDOWN_TIMEOUT_SECONDS=(\d+)$", unit, re.MULTILINE)
    assert stop_sec and bound
    assert int(bound.group(1)) == Settings().shutdown_timeout_seconds
    assert int(stop_sec.group(1)) >= int(bound.group(1)) + 10
