"""The `--gammu-...` options of `simgate device run`, and the driver built from them.

Importing this module needs only click: python-gammu is an extra
(`pip install 'simgate[gammu]'`), loaded when the gammu driver is chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from simgate.device.drivers.gammu.driver import GammuDriver

INSTALL_HINT = "the gammu driver needs python-gammu: pip install 'simgate[gammu]'"


def gammu_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the gammu driver's options to a click command (docs/phones/gammu.md)."""
    options = [
        click.option(
            "--gammu-config",
            type=click.Path(dir_okay=False, exists=True, path_type=Path),
            default=None,
            help="[gammu] A gammurc file ([gammu] section: device, connection, ...).",
        ),
        click.option(
            "--gammu-device",
            default=None,
            help="[gammu] The modem's port, e.g. /dev/ttyUSB0 (instead of --gammu-config).",
        ),
        click.option(
            "--gammu-connection",
            default="at",
            show_default=True,
            help="[gammu] How to talk to --gammu-device (at, at115200, blueat, ...).",
        ),
        click.option(
            "--gammu-smsc",
            default=None,
            help="[gammu] SMS centre number, when the SIM does not hold one.",
        ),
        click.option(
            "--gammu-poll",
            type=click.FloatRange(min=0.05),
            default=5.0,
            show_default=True,
            help="[gammu] Seconds between two reads of the modem's SMS memory.",
        ),
        click.option(
            "--gammu-delivery-reports/--no-gammu-delivery-reports",
            default=True,
            show_default=True,
            help="[gammu] Ask the network for delivery reports.",
        ),
        click.option(
            "--gammu-calls/--no-gammu-calls",
            default=True,
            show_default=True,
            help="[gammu] Report incoming calls and place calls (off for data-only sticks).",
        ),
        click.option(
            "--gammu-give-up-after",
            type=click.FloatRange(min=1),
            default=300.0,
            show_default=True,
            help="[gammu] Seconds an SMS may wait for the modem before it is reported failed "
            "(keep it below the server's result timeout).",
        ),
        click.option(
            "--gammu-log",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="[gammu] LibGammu's own log file, for troubleshooting (with --gammu-device).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def check(**values: Any) -> None:
    """click.UsageError when the `gammu_*` option values do not name one modem,
    RuntimeError(INSTALL_HINT) when python-gammu is missing."""
    if (values.get("gammu_config") is None) == (values.get("gammu_device") is None):
        raise click.UsageError("--driver gammu needs --gammu-config or --gammu-device (one)")
    try:
        import gammu  # noqa: F401
    except ImportError:
        raise RuntimeError(INSTALL_HINT) from None


def build_driver(folder: Path, fsync: bool, **values: Any) -> GammuDriver:
    """The driver from the `gammu_*` option values (see `check`)."""
    check(**values)
    from simgate.device.drivers.gammu.driver import GammuDriver, GammuOptions
    from simgate.device.drivers.gammu.modem import ModemConfig

    config_file: Path | None = values.get("gammu_config")
    device: str | None = values.get("gammu_device")
    modem = ModemConfig(
        config_file=config_file,
        device=device,
        connection=values.get("gammu_connection") or "at",
        log_file=values.get("gammu_log"),
    )
    options = GammuOptions(
        poll_interval=values.get("gammu_poll", 5.0),
        delivery_reports=values.get("gammu_delivery_reports", True),
        calls=values.get("gammu_calls", True),
        smsc=values.get("gammu_smsc"),
        give_up_after=values.get("gammu_give_up_after", 300.0),
    )
    return GammuDriver(modem, folder, options, fsync=fsync)
