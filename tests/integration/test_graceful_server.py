"""serve's stop bound (serving.GracefulServer): what happens when a stop hangs.

A whole stop through a real SIGTERM is tests/devices/test_graceful_restart.py;
here only the watchdog, which no real stop reaches unless something hangs.
"""

from __future__ import annotations

import logging
import os
import time
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


def test_the_bound_is_a_setting_of_at_least_a_second() -> None:
    assert Settings().shutdown_timeout_seconds == 30
    assert Settings(shutdown_timeout_seconds=5).shutdown_timeout_seconds == 5
    with pytest.raises(ValueError):
        Settings(shutdown_timeout_seconds=0.5)
