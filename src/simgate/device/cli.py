"""`simgate devices ...` (operator: pair, list, remove) and `simgate device ...`
(the reference agent: run, report)."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sys
from pathlib import Path
from typing import Any

import click

from simgate.cli_options import fail, open_store, store_options


@click.group()
def devices() -> None:
    """Phones and modems paired to accounts."""


@devices.command("add")
@click.argument("email")
@click.option("--name", required=True, help="A name to tell the device apart.")
@click.option("--rate", type=int, default=30, show_default=True, help="SMS per minute.")
@click.option("--json", "as_json", is_flag=True, help='Print {"device_id", "token"} as JSON.')
@store_options
def devices_add(email: str, name: str, rate: int, as_json: bool, overrides: dict[str, Any]) -> None:
    """Pair a device to the account EMAIL and print its token (shown once)."""
    from simgate.errors import NotFound
    from simgate.services.devices import add_device

    try:
        device_id, token = add_device(open_store(overrides), email, name, rate)
    except (NotFound, ValueError) as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps({"device_id": device_id, "token": token}))
    else:
        click.echo(f"device {device_id} paired to {email}")
        click.echo(f"token (shown once): {token}")


@devices.command("list")
@click.argument("email", required=False)
@click.option("--json", "as_json", is_flag=True)
@store_options
def devices_list(email: str | None, as_json: bool, overrides: dict[str, Any]) -> None:
    """List devices (of EMAIL, or all): online or not, last seen, queue."""
    from simgate.services.devices import list_devices

    rows = list_devices(open_store(overrides), email)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "device_id": d.id,
                        "account": d.account_email,
                        "name": d.name,
                        "rate_per_minute": d.rate_per_minute,
                        "online": d.online,
                        "last_seen_at": d.last_seen_at.isoformat() if d.last_seen_at else None,
                        "in_flight": d.in_flight,
                    }
                    for d in rows
                ]
            )
        )
        return
    for d in rows:
        seen = f"{d.last_seen_at:%Y-%m-%d %H:%M:%S}" if d.last_seen_at else "never"
        click.echo(
            f"{d.id}\t{d.account_email}\t{d.name}\t{'online' if d.online else 'offline'}"
            f"\tlast seen {seen}\t{d.rate_per_minute}/min\tin flight {d.in_flight}"
        )


@devices.command("remove")
@click.argument("device_id", type=int)
@store_options
def devices_remove(device_id: int, overrides: dict[str, Any]) -> None:
    """Unpair a device; its token stops working at once."""
    from simgate.errors import NotFound
    from simgate.services.devices import remove_device

    try:
        remove_device(open_store(overrides), device_id)
    except NotFound as exc:
        fail(str(exc))
    click.echo(f"removed device {device_id}")


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
@click.option("--driver", type=click.Choice(["simulator"]), default="simulator", show_default=True)
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
    help="Journal folder [default ./simgate-agent-<token prefix>].",
)
@click.option(
    "--no-fsync",
    is_flag=True,
    hidden=True,
    help="Journal without fsync (benchmarks only: a crash may lose state).",
)
def device_run(
    server: str,
    token: str,
    driver: str,
    sent_delay: float,
    delivery_delay: float,
    fail_rate: float,
    state_dir: Path | None,
    no_fsync: bool,
) -> None:
    """Connect as a device and drive a phone (reconnects with back-off)."""
    from simgate.device.agent import Agent, Fatal
    from simgate.device.drivers.simulator import SimulatedPhone
    from simgate.device.journal import Journal

    assert driver == "simulator"  # the only one so far; click checked the choice
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    folder = state_dir or Path(f"simgate-agent-{token[4:12]}")
    journal = Journal(folder, fsync=not no_fsync)

    async def run() -> None:
        phone = SimulatedPhone(folder, sent_delay, delivery_delay, fail_rate, fsync=not no_fsync)
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
