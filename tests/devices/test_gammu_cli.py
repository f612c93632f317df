"""`simgate device run --driver gammu`: what a user gets when something is missing."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from simgate.cli import main

RUN = ["device", "run", "--token", "sgd_x", "--driver", "gammu"]


def test_without_python_gammu_it_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gammu", None)  # `import gammu` fails as if not installed
    result = CliRunner().invoke(main, [*RUN, "--gammu-device", "/dev/ttyUSB0"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: the gammu driver needs python-gammu: pip install 'simgate[gammu]'"
    ]


def test_it_needs_one_modem() -> None:
    neither = CliRunner().invoke(main, RUN)
    assert neither.exit_code == 2 and "--gammu-config or --gammu-device" in neither.output


def test_the_options_are_documented() -> None:
    help_text = CliRunner().invoke(main, ["device", "run", "--help"]).output
    for option in ("--gammu-config", "--gammu-device", "--gammu-connection", "--gammu-smsc",
                   "--gammu-poll", "--no-gammu-delivery-reports", "--no-gammu-calls",
                   "--gammu-give-up-after", "--gammu-log"):
        assert option in help_text
