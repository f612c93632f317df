"""`simgate device ...`: the reference agent (run, report), which acts as a device.

The operator's `simgate devices ...` (pair, list, remove) is in devices_cli.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import click

from simgate._wire import CALL_KINDS
from simgate.cli_options import fail
from simgate.device import fastjson
from simgate.device.drivers.gammu import options as gammu
from simgate.device.drivers.smpp import options as smpp

DRIVERS = ("simulator", "smsgate-local", "termux", "gammu", "smpp")


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


def _smsgate_local_options(func: Any) -> Any:
    """--smsgate-*: the SMS Gateway for Android app in Local Server mode. The
    --phone-* spellings are the ones issue 11 and the app's users know."""
    options = [
        click.option(
            "--smsgate-url", "--phone-url", "smsgate_url", default=None,
            help="[smsgate-local] The app's local server, e.g. http://192.168.1.50:8080.",
        ),
        click.option(
            "--smsgate-user", "--phone-user", "smsgate_user", default="sms", show_default=True,
            help="[smsgate-local] Username shown in the app.",
        ),
        click.option(
            "--smsgate-password", "--phone-password", "smsgate_password", default="",
            envvar="SIMGATE_SMSGATE_PASSWORD",
            help="[smsgate-local] Password shown in the app [env SIMGATE_SMSGATE_PASSWORD].",
        ),
        click.option(
            "--smsgate-sim", type=click.IntRange(min=1), default=None,
            help="[smsgate-local] SIM to send from, 1 or 2 [default: the app's setting].",
        ),
        click.option(
            "--smsgate-poll", type=click.FloatRange(min=0.05), default=2.0, show_default=True,
            help="[smsgate-local] Seconds between looks at the state of an SMS on its way.",
        ),
        click.option(
            "--smsgate-inbox-poll", type=click.FloatRange(min=0.05), default=5.0,
            show_default=True, help="[smsgate-local] Seconds between looks at the inbox.",
        ),
        click.option(
            "--smsgate-give-up", type=click.FloatRange(min=1), default=300.0, show_default=True,
            help="[smsgate-local] Seconds an SMS waits for an unreachable phone, then fails.",
        ),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def _termux_options(func: Any) -> Any:
    """--termux-*: the agent running on the phone itself, in Termux."""
    options = [
        click.option(
            "--termux-sim", type=click.IntRange(min=1), default=None,
            help="[termux] SIM to send from, 1 or 2 [default: Android's default SIM].",
        ),
        click.option(
            "--termux-poll", type=click.FloatRange(min=0.05), default=5.0, show_default=True,
            help="[termux] Seconds between looks at the SMS boxes and the call log.",
        ),
        click.option(
            "--termux-timeout", type=click.FloatRange(min=0.5), default=20.0, show_default=True,
            help="[termux] Seconds a Termux:API command may take before it is killed.",
        ),
        click.option(
            "--termux-confirm", type=click.FloatRange(min=0), default=60.0, show_default=True,
            help="[termux] Seconds a sent SMS waits for Android's Sent box before it is "
            "reported sent anyway.",
        ),
        click.option(
            "--termux-wake-lock/--termux-no-wake-lock", default=True, show_default=True,
            help="[termux] Hold a wake lock while the agent runs.",
        ),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


@device.command("run")
@_server_options
@click.option(
    "--driver",
    type=click.Choice(DRIVERS),
    default="simulator",
    show_default=True,
    help="What sends the SMS: simulator is a virtual phone; smsgate-local the SMS Gateway "
    "for Android app's local server (docs/phones/smsgate-local.md); termux the phone this "
    "agent runs on (docs/phones/termux.md); gammu a USB modem or phone (docs/phones/gammu.md); "
    "smpp a bind to an operator's SMSC (docs/smpp.md).",
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
    "--sims",
    type=click.IntRange(1, 8),
    default=1,
    show_default=True,
    help="SIM slots the simulator declares (a message may name one, docs/policy.md).",
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
@_smsgate_local_options
@_termux_options
@gammu.gammu_options
@smpp.smpp_options
def device_run(
    server: str,
    token: str,
    driver: str,
    sent_delay: float,
    delivery_delay: float,
    fail_rate: float,
    sims: int,
    state_dir: Path | None,
    no_fsync: bool,
    **driver_options: Any,
) -> None:
    """Connect as a device and drive a phone (reconnects with back-off)."""
    from simgate.device.agent import Agent, Fatal
    from simgate.device.journal import Journal

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # httpx logs each request at INFO: a line per look at the phone (smsgate-local).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    folder = state_dir or default_state_dir(token)
    _check_driver(driver, driver_options)
    journal = Journal(folder, fsync=not no_fsync)
    simulator = (sent_delay, delivery_delay, fail_rate, sims)

    async def run() -> None:
        # SIGTERM (systemd, docker stop) ends the agent as Ctrl-C does: the
        # driver is closed on the way out (an SMPP bind is unbound).
        stop = asyncio.Event()
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        async with _open_driver(driver, folder, not no_fsync, simulator, driver_options) as phone:
            await Agent(server, token, phone, journal).run(stop)

    try:
        asyncio.run(run())
    except Fatal as exc:
        fail(f"the server refused this device: {exc}")
    except KeyboardInterrupt:
        pass
    finally:
        journal.close()


def _check_driver(driver: str, options: dict[str, Any]) -> None:
    """Stop with one line before anything starts when the driver cannot run."""
    if driver == "smsgate-local" and not options["smsgate_url"]:
        fail("--driver smsgate-local needs --smsgate-url (or --phone-url), e.g. http://PHONE:8080")
    if driver == "termux":
        from simgate.device.drivers.termux_api import missing_commands

        if missing := missing_commands():
            fail(f"{', '.join(missing)} not found: run `pkg install termux-api` in Termux")
    if driver == "gammu":
        try:  # its options are checked, and python-gammu found
            gammu.check(**options)
        except RuntimeError as exc:
            fail(str(exc))
    if driver == "smpp":
        try:  # its options are checked, and smpplib found
            smpp.check(**options)
        except RuntimeError as exc:
            fail(str(exc))


@contextlib.asynccontextmanager
async def _open_driver(
    driver: str,
    folder: Path,
    fsync: bool,
    simulator: tuple[float, float, float, int],
    options: dict[str, Any],
) -> AsyncIterator[Any]:
    """The chosen driver, closed when the agent stops. Each is imported only
    when chosen: the agent must run with pure-Python packages on Termux."""
    if driver == "smsgate-local":
        from simgate.device.drivers import smsgate_local

        local = smsgate_local.from_options(folder, options)
        try:
            yield local
        finally:
            await local.aclose()
    elif driver == "termux":
        from simgate.device.drivers import termux

        on_phone = termux.from_options(folder, options)
        try:
            yield on_phone
        finally:
            await on_phone.aclose()
    elif driver == "gammu":
        modem = gammu.build_driver(folder, fsync, **options)
        try:
            yield modem
        finally:
            modem.close()
    elif driver == "smpp":
        # Hundreds of SMS a second: the journal's and the frames' JSON in
        # orjson (the other drivers keep to pure-Python packages, fastjson.py).
        fastjson.use_orjson()
        link = smpp.build_driver(folder, fsync, **options)
        try:
            yield link
        finally:
            await link.aclose()
    else:
        from simgate.device.drivers.simulator import SimulatedPhone

        sent_delay, delivery_delay, fail_rate, sims = simulator
        simulated = SimulatedPhone(
            folder, sent_delay, delivery_delay, fail_rate, fsync=fsync, sims=sims
        )
        try:
            yield simulated
        finally:
            simulated.close()


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
    type=click.Choice(CALL_KINDS),
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
