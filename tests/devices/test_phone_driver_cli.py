"""`simgate device run` with the real-phone drivers: what it asks of the user
before it starts (the drivers themselves: test_*_driver.py, test_*_e2e.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from simgate.cli import main


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["device", "run", "--token", "sgd_x", *args])
    return result.exit_code, result.output


def test_the_drivers_and_their_options_are_listed() -> None:
    code, help_text = run("--help")
    assert code == 0
    for name in ("smsgate-local", "termux", "--phone-url", "--smsgate-url", "--termux-sim"):
        assert name in help_text


def test_smsgate_local_needs_the_phone_address(tmp_path: Path) -> None:
    code, output = run("--driver", "smsgate-local", "--state-dir", str(tmp_path))
    assert code != 0 and "--smsgate-url (or --phone-url)" in output


def test_termux_needs_the_termux_api_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a phone without `pkg install termux-api`
    code, output = run("--driver", "termux", "--state-dir", str(tmp_path))
    assert code != 0 and "pkg install termux-api" in output
    assert "termux-sms-send" in output
