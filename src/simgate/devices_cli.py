"""`simgate devices ...`: the operator pairs, lists and removes devices.

The agent that acts as a device (`simgate device ...`) is in device/cli.py.
`cli.py` registers the group.
"""

from __future__ import annotations

import json
from typing import Any

import click

from simgate.cli_options import fail, load_settings, open_store, store_options


@click.group()
def devices() -> None:
    """Phones and modems paired to accounts."""


@devices.command("add")
@click.argument("email")
@click.option("--name", required=True, help="A name to tell the device apart.")
@click.option("--rate", type=int, default=30, show_default=True, help="SMS per minute.")
@click.option(
    "--kind",
    type=click.Choice(["agent", "smsgate"]),  # services.devices.KINDS, not imported at start
    default="agent",
    show_default=True,
    help="agent: `simgate device run` connects it; smsgate: the SMS Gateway for Android "
    "app in private-server mode (docs/phones/smsgate-app.md).",
)
@click.option(
    "--sim",
    "sim_number",
    type=click.IntRange(1, 3),
    default=None,
    help="smsgate: the SIM the app sends from (default: the app's own choice).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print {"device_id", "token"} (smsgate: {"device_id", "kind", "api_url", '
    '"private_token"}) as JSON.',
)
@store_options
def devices_add(
    email: str,
    name: str,
    rate: int,
    kind: str,
    sim_number: int | None,
    as_json: bool,
    overrides: dict[str, Any],
) -> None:
    """Pair a device to the account EMAIL and print its token (shown once)."""
    from simgate.errors import NotFound
    from simgate.services.devices import add_device

    try:
        device_id, secret = add_device(open_store(overrides), email, name, rate, kind, sim_number)
    except (NotFound, ValueError) as exc:
        fail(str(exc))
    if kind == "smsgate":
        _print_app_pairing(device_id, email, secret, load_settings(overrides), as_json)
    elif as_json:
        click.echo(json.dumps({"device_id": device_id, "token": secret}))
    else:
        click.echo(f"device {device_id} paired to {email}")
        click.echo(f"token (shown once): {secret}")


def _print_app_pairing(
    device_id: int, email: str, private_token: str, settings: Any, as_json: bool
) -> None:
    from simgate.services.mobile import api_url, cleartext_refused

    url = api_url(settings.resolved_public_url())
    if as_json:
        click.echo(
            json.dumps(
                {
                    "device_id": device_id,
                    "kind": "smsgate",
                    "api_url": url,
                    "private_token": private_token,
                }
            )
        )
        return
    click.echo(f"device {device_id} paired to {email} (SMS Gateway for Android app)")
    click.echo("In the app, Settings > Cloud Server:")
    click.echo(f"  API URL:        {url}")
    click.echo(f"  Private Token:  {private_token}   (shown once)")
    click.echo("then turn the Cloud server on (Home). See docs/phones/smsgate-app.md.")
    if cleartext_refused(url):
        click.echo(
            "warning: the app refuses plain http except to 127.0.0.1: set SIMGATE_PUBLIC_URL "
            "to the https address of a reverse proxy, or use adb reverse",
            err=True,
        )


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
                        "kind": d.kind,
                        "sims": sorted(d.sims),
                        "default_sim": d.sim_number,
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
            f"\tlast seen {seen}\t{d.rate_per_minute}/min\tin flight {d.in_flight}\t{d.kind}"
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


@devices.command("set-sim")
@click.argument("email")
@click.argument("device_id", type=int)
@click.argument("sim")
@store_options
def devices_set_sim(email: str, device_id: int, sim: str, overrides: dict[str, Any]) -> None:
    """Set the SIM slot (1-8) device DEVICE_ID of EMAIL sends from when a
    message names none; `none` leaves the choice to the phone."""
    from simgate.errors import NotFound
    from simgate.services.devices import set_default_sim

    slot: int | None = None
    if sim.strip().lower() != "none":
        try:
            slot = int(sim)
        except ValueError:
            fail(f"SIM must be a slot number from 1 to 8, or none (got {sim!r})")
    try:
        set_default_sim(open_store(overrides), email, device_id, slot)
    except (NotFound, ValueError) as exc:
        fail(str(exc))
    shown = f"SIM {slot}" if slot is not None else "the phone's own choice"
    click.echo(f"device {device_id} sends from {shown} when a message names no SIM")
