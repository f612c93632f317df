"""`simgate device ...`: the reference agent (run, report), which acts as a device.

The operator's `simgate devices ...` (pair, list, remove) is in devices_cli.py.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
from pathlib import Path
from typing import Any

import click

from simgate.cli_options import fail
from simgate.device.drivers.gammu import options as gammu

DRIVERS = ("simulator", "gammu")


@click.group()
def device() -> None:
    """Act as a device: the reference agent."""


def _server_options(func: Any) -> Any:
    func = click.option(
        "--token",
        envvar="SIMGATE_DEVICE_TOKEN",
        required=True,
        help="Device token [env SIMGATE_DEVICE_TOKEN].",
    )(func)
    func = click.option(
        "--server",
        envvar="SIMGATE_URL",
        default="http://127.0.0.1:8000",
        show_default=True,
        help="Server base URL [env SIMGATE_URL].",
    )(func)
    return func


@device.command("run")
@_server_options
@click.option(
    "--driver",
    type=click.Choice(DRIVERS),
    default="simulator",
    show_default=True,
    help="What sends the SMS: simulator is a virtual phone; gammu a USB modem or phone "
    "(docs/phones/gammu.md).",
)
@click.option(
    "--sent-delay",
    type=float,
    default=0.5,
    show_default=True,
    help="Seconds before the simulator reports sent.",
)
@click.option(
    "--delivery-delay",
    type=float,
    default=1.0,
    show_default=True,
    help="Seconds after sent before it reports delivered.",
)
@click.option(
    "--fail-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of messages that fail.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the agent's journal and the simulator's sent log "
    "[default: agent-<token prefix> in the user's data directory].",
)
@click.option(
    "--no-fsync",
    is_flag=True,
    hidden=True,
    help="Journal without fsync (benchmarks only: a crash may lose state).",
)
@gammu.gammu_options
def device_run(
    server: str,
    token: str,
    driver: str,
    sent_delay: float,
    delivery_delay: float,
    fail_rate: float,
    state_dir: Path | None,
    no_fsync: bool,
    **driver_options: Any,
) -> None:
    """Connect as a device and drive a phone (reconnects with back-off)."""
    from simgate.device.agent import Agent, Fatal
    from simgate.device.drivers.simulator import SimulatedPhone
    from simgate.device.journal import Journal

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    folder = state_dir or default_state_dir(token)

    def make_phone() -> Any:
        if driver == "gammu":
            return gammu.build_driver(folder, not no_fsync, **driver_options)
        return SimulatedPhone(folder, sent_delay, delivery_delay, fail_rate, fsync=not no_fsync)

    if driver == "gammu":
        try:  # its options are checked, and python-gammu found, before anything starts
            gammu.check(**driver_options)
        except RuntimeError as exc:
            fail(str(exc))
    journal = Journal(folder, fsync=not no_fsync)

    async def run() -> None:
        phone = make_phone()
        try:
            await Agent(server, token, phone, journal).run()
        finally:
            phone.close()

    try:
        asyncio.run(run())
    except Fatal as exc:
        fail(f"the server refused this device: {exc}")
    except KeyboardInterrupt:
        pass
    finally:
        journal.close()


def default_state_dir(token: str) -> Path:
    """One folder per device token in the user's data directory (not the current
    folder: an agent started from elsewhere would lose its journal)."""
    import platformdirs

    return platformdirs.user_data_path("simgate") / f"agent-{token[4:12]}"


@device.group("report")
@_server_options
@click.pass_context
def device_report(ctx: click.Context, server: str, token: str) -> None:
    """Report one event as the device, wait for the server's ack, exit."""
    ctx.obj = {"server": server, "token": token}


def _send_report(ctx: click.Context, frame: dict[str, Any]) -> None:
    from simgate.device.agent import now_iso, report_once

    frame.setdefault("ref", "cli-" + secrets.token_hex(8))
    frame.setdefault("at", now_iso())
    try:
        asyncio.run(report_once(ctx.obj["server"], ctx.obj["token"], frame))
    except (RuntimeError, OSError, TimeoutError) as exc:
        click.echo(f"error: {exc or type(exc).__name__}", err=True)
        sys.exit(1)
    except Exception as exc:  # websockets' handshake errors and the like
        click.echo(f"error: could not report: {exc}", err=True)
        sys.exit(1)
    click.echo("reported")


@device_report.command("sms")
@click.option("--from", "sender", required=True, help="Sender's number.")
@click.option("--text", required=True)
@click.pass_context
def report_sms(ctx: click.Context, sender: str, text: str) -> None:
    """An SMS received by the phone."""
    _send_report(ctx, {"type": "sms_received", "from": sender, "text": text})


@device_report.command("call")
@click.option(
    "--type",
    "event",
    required=True,
    type=click.Choice(["incoming_call", "outgoing_call", "missed_call"]),
)
@click.option("--number", required=True)
@click.option("--duration", default="0", show_default=True, help="HH:MM:SS, or 0.")
@click.pass_context
def report_call(ctx: click.Context, event: str, number: str, duration: str) -> None:
    """A call event."""
    _send_report(ctx, {"type": "call", "event": event, "number": number, "duration": duration})


@device_report.command("qualification")
@click.option("--from", "number", required=True, help="The caller's number.")
@click.option("--text", required=True)
@click.pass_context
def report_qualification(ctx: click.Context, number: str, text: str) -> None:
    """A call qualification typed on the phone."""
    _send_report(ctx, {"type": "qualification", "number": number, "text": text})
