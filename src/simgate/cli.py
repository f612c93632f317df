"""Command line: serve, db, accounts, keys (devices, webhooks and send come later).

Every command that touches the store takes the same --data-dir / --database-url
(and SIMGATE_* environment) as `serve`, and works while the server runs.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import click

from simgate.cli_options import fail, load_settings, open_store, store_options


@click.group()
@click.version_option(package_name="simgate")
def main() -> None:
    """simgate: a self-hosted SMS and call gateway speaking the inSIM HTTP API."""


# --- serve -------------------------------------------------------------------


@main.command()
@click.option("--host", default=None, help="Address to listen on [default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port to listen on [default 8000].")
@click.option("--public-url", default=None, help="Base of tracked short links.")
@click.option("--demo", is_flag=True, help="Create a demo account and print how to use it.")
@click.option("--access-log", is_flag=True, help="Log every HTTP request (paths only).")
@click.option(
    "--allow-private-callbacks",
    is_flag=True,
    help="Let webhooks reach private/loopback addresses [env SIMGATE_ALLOW_PRIVATE_CALLBACKS].",
)
@click.option(
    "--forwarded-allow-ips",
    default=None,
    help="Comma-separated addresses/networks of the reverse proxies whose X-Forwarded-For "
    "and X-Forwarded-Proto are believed [env SIMGATE_FORWARDED_ALLOW_IPS; default none].",
)
@click.option(
    "--header-timeout",
    type=float,
    default=None,
    help="Seconds a connection has to send a complete request head "
    "[env SIMGATE_HEADER_TIMEOUT_SECONDS; default 10].",
)
@click.option(
    "--body-timeout",
    type=float,
    default=None,
    help="Seconds a request has to send its body after its head "
    "[env SIMGATE_BODY_TIMEOUT_SECONDS; default 60].",
)
@store_options
def serve(
    host: str | None,
    port: int | None,
    public_url: str | None,
    demo: bool,
    access_log: bool,
    allow_private_callbacks: bool,
    forwarded_allow_ips: str | None,
    header_timeout: float | None,
    body_timeout: float | None,
    overrides: dict[str, Any],
) -> None:
    """Run the gateway (applies migrations first)."""
    import uvicorn

    from simgate import serving
    from simgate.app import create_app

    for name, value in (
        ("host", host),
        ("port", port),
        ("public_url", public_url),
        ("forwarded_allow_ips", forwarded_allow_ips),
        ("header_timeout_seconds", header_timeout),
        ("body_timeout_seconds", body_timeout),
    ):
        if value is not None:
            overrides[name] = value
    if allow_private_callbacks:
        overrides["allow_private_callbacks"] = True
    settings = load_settings(overrides)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations say nothing useful at INFO
    serving.raise_open_file_limit()
    app = create_app(settings)
    try:
        if demo:
            from simgate import demo as demo_setup

            text, phone = demo_setup.prepare(app.state.engine, settings)
            click.echo(text)
            app.state.workers.append(phone)
        uvicorn.run(
            app, access_log=access_log, log_level="info", **serving.uvicorn_options(settings)
        )
    finally:
        app.state.engine.dispose()  # after the workers stopped (uvicorn ran the lifespan's end)


# --- db ----------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@store_options
def db_upgrade(overrides: dict[str, Any]) -> None:
    """Apply all migrations."""
    engine = open_store(overrides)
    click.echo(f"database is up to date ({engine.dialect.name})")


# --- accounts and keys -------------------------------------------------------


@main.group()
def accounts() -> None:
    """Accounts (one per customer login)."""


@accounts.command("create")
@click.argument("email")
@click.option("--timezone", default="Europe/Paris", show_default=True, help="IANA time zone.")
@click.option("--region", default="FR", show_default=True, help="Region of national numbers.")
@click.option("--json", "as_json", is_flag=True, help="Print {login, access_key} as JSON.")
@click.option("--password", default=None, help="Dashboard password (or set it later).")
@store_options
def accounts_create(
    email: str,
    timezone: str,
    region: str,
    as_json: bool,
    password: str | None,
    overrides: dict[str, Any],
) -> None:
    """Create an account and print its first access key (shown once)."""
    from simgate.services.accounts import create_account
    from simgate.web.passwords import hash_password

    engine = open_store(overrides)
    try:
        hashed = hash_password(password) if password is not None else None
        account, key = create_account(engine, email, timezone, region, password_hash=hashed)
    except ValueError as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps({"login": account.email, "access_key": key}))
    else:
        click.echo(f"created {account.email} ({account.timezone}, region {account.region})")
        click.echo(f"access key (shown once): {key}")


@accounts.command("password")
@click.argument("email")
@click.option("--password", default=None, help="New password (else prompted, or read from stdin).")
@store_options
def accounts_password(email: str, password: str | None, overrides: dict[str, Any]) -> None:
    """Set the password EMAIL signs in to the dashboard with."""
    import sys

    from simgate.errors import NotFound
    from simgate.web.passwords import set_password

    if password is None:
        if sys.stdin.isatty():
            password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
        else:  # piped: the first line is the password
            password = sys.stdin.readline().rstrip("\r\n")
    try:
        set_password(open_store(overrides), email, password)
    except (NotFound, ValueError) as exc:
        fail(str(exc))
    click.echo(f"password set for {email.strip()}; its dashboard sessions are signed out")


@accounts.command("list")
@store_options
def accounts_list(overrides: dict[str, Any]) -> None:
    """List accounts."""
    from simgate.services.accounts import list_accounts

    for account in list_accounts(open_store(overrides)):
        click.echo(f"{account.id}\t{account.email}\t{account.timezone}\t{account.region}")


@main.group()
def keys() -> None:
    """API access keys; an account may have several, each revocable."""


@keys.command("create")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True)
@store_options
def keys_create(email: str, as_json: bool, overrides: dict[str, Any]) -> None:
    """Create another access key (shown once)."""
    from simgate.errors import NotFound
    from simgate.services.accounts import create_key

    try:
        key = create_key(open_store(overrides), email)
    except NotFound as exc:
        fail(str(exc))
    click.echo(json.dumps({"login": email, "access_key": key}) if as_json else key)


@keys.command("list")
@click.argument("email")
@store_options
def keys_list(email: str, overrides: dict[str, Any]) -> None:
    """List an account's keys (their ids and prefixes, never the keys)."""
    from simgate.errors import NotFound
    from simgate.services.accounts import list_keys

    try:
        rows = list_keys(open_store(overrides), email)
    except NotFound as exc:
        fail(str(exc))
    for key in rows:
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        click.echo(f"{key.id}\t{key.prefix}…\tcreated {key.created_at:%Y-%m-%d %H:%M}\t{state}")


@keys.command("revoke")
@click.argument("email")
@click.argument("key_id", type=int)
@store_options
def keys_revoke(email: str, key_id: int, overrides: dict[str, Any]) -> None:
    """Revoke key KEY_ID (from `keys list`)."""
    from simgate.errors import NotFound
    from simgate.services.accounts import revoke_key

    try:
        revoke_key(open_store(overrides), email, key_id)
    except NotFound as exc:
        fail(str(exc))
    click.echo(f"revoked key {key_id}")


# Command groups that live beside the code they drive.
from simgate import devices_cli  # noqa: E402
from simgate.device.cli import device  # noqa: E402  (the agent's, not the operator's)

main.add_command(devices_cli.devices)
main.add_command(device)

from simgate import webhooks_cli  # noqa: E402

accounts.add_command(webhooks_cli.accounts_webhooks)
accounts.add_command(webhooks_cli.accounts_webhook_secret)
main.add_command(webhooks_cli.webhooks)

from simgate.client.cli import contacts, send  # noqa: E402  (user side: over HTTP, via the SDK)

main.add_command(send)
main.add_command(contacts)


if __name__ == "__main__":
    main()
