"""Command line: serve, db, backup, restore, config, accounts, keys; devices, webhooks, send.

Every command that touches the store takes the same --data-dir / --database-url
(and SIMGATE_* environment) as `serve`, and works while the server runs.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import click

from simgate.cli_options import fail, load_settings, open_store, store_in_use, store_options


@click.group()
@click.version_option(package_name="simgate")
def main() -> None:
    """simgate: a self-hosted SMS and call gateway speaking the inSIM HTTP API."""


# --- serve -------------------------------------------------------------------


# Flags named after the setting they set (`--header-timeout` sets
# header_timeout_seconds): serve passes them on by name, and docs/configuration.md
# lists each beside its SIMGATE_* variable.
@main.command()
@click.option("--host", default=None, help="Address to listen on [default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port to listen on [default 8000].")
@click.option("--public-url", default=None, help="Base of tracked short links.")
@click.option("--demo", is_flag=True, help="Create a demo account and print how to use it.")
@click.option("--access-log", is_flag=True, help="Log every HTTP request (paths only).")
@click.option(
    "--allow-private-callbacks",
    is_flag=True,
    default=None,
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
    "header_timeout_seconds",
    type=float,
    default=None,
    help="Seconds a connection has to send a complete request head "
    "[env SIMGATE_HEADER_TIMEOUT_SECONDS; default 10].",
)
@click.option(
    "--body-timeout",
    "body_timeout_seconds",
    type=float,
    default=None,
    help="Seconds a request has to send its body after its head "
    "[env SIMGATE_BODY_TIMEOUT_SECONDS; default 60].",
)
@store_options
def serve(demo: bool, access_log: bool, overrides: dict[str, Any], **flags: Any) -> None:
    """Run the gateway (applies migrations first)."""
    overrides |= {name: value for name, value in flags.items() if value is not None}
    settings = load_settings(overrides)
    with store_in_use(settings):
        _serve(settings, demo, access_log)


def _serve(settings: Any, demo: bool, access_log: bool) -> None:
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    from simgate import logs, serving
    from simgate.app import create_app
    from simgate.runtime import runtime_of
    from simgate.workers.supervisor import Worker

    logs.configure(settings)  # SIMGATE_LOG_FORMAT: text or json (simgate/logs.py)
    serving.raise_open_file_limit()
    app = create_app(settings)
    try:
        if demo:
            from simgate import demo as demo_setup

            runtime = runtime_of(app)
            text, phone = demo_setup.prepare(runtime.engine, settings)
            click.echo(text)
            runtime.workers.add(Worker("demo-phone", phone))
        serving.settle_heap()
        # uvicorn.run's steps, with simgate's stop (drained, bounded: serving.py).
        config = uvicorn.Config(
            app,
            access_log=access_log,
            log_level="info",
            **logs.uvicorn_log_config(settings),
            **serving.uvicorn_options(settings),
        )
        server = serving.GracefulServer(config, runtime_of(app))
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        if not server.started:
            sys.exit(STARTUP_FAILURE)  # the port taken, say: as uvicorn.run
    finally:
        # After the workers stopped: uvicorn ran the lifespan's end.
        runtime_of(app).engine.dispose()


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


# --- backup and restore ------------------------------------------------------

POSTGRES_BACKUP = (
    "backup and restore copy the SQLite store; for PostgreSQL use pg_dump --format=custom "
    "and pg_restore (docs/operations.md)"
)


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@store_options
def backup(path: Path, force: bool, overrides: dict[str, Any]) -> None:
    """Copy the SQLite store to PATH, consistently, while the server runs."""
    from simgate.store import backup as backups

    store = backups.sqlite_path(load_settings(overrides).resolved_database_url())
    if store is None:
        fail(POSTGRES_BACKUP)
        return
    try:
        copied = backups.backup(store, path, force=force)
    except backups.BackupError as exc:
        fail(str(exc))
        return
    size = copied.bytes / 1_000_000
    click.echo(f"backed up {store} to {path} ({size:.1f} MB, revision {copied.revision})")


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--keep-replaced/--discard-replaced",
    default=True,
    show_default=True,
    help="Keep the store being replaced beside it (simgate.db.replaced-<time>).",
)
@store_options
def restore(path: Path, keep_replaced: bool, overrides: dict[str, Any]) -> None:
    """Put the backup PATH in place of the SQLite store (refused while a server runs on it)."""
    from simgate.store import backup as backups
    from simgate.store.store_lock import StoreInUse

    store = backups.sqlite_path(load_settings(overrides).resolved_database_url())
    if store is None:
        fail(POSTGRES_BACKUP)
        return
    try:
        restored = backups.restore(path, store, keep_replaced=keep_replaced)
    except (backups.BackupError, StoreInUse) as exc:
        fail(str(exc))
        return
    click.echo(f"restored {path} to {store} (revision {restored.revision})")
    if restored.replaced is not None:
        click.echo(f"the replaced store is kept as {restored.replaced}")
    click.echo("`simgate serve` (or `simgate db upgrade`) brings it up to this release")


# --- config ------------------------------------------------------------------


@main.group()
def config() -> None:
    """Settings: SIMGATE_* variables and flags."""


@config.command("docs")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file (docs/configuration.md) instead of printing.",
)
def config_docs(output: Path | None) -> None:
    """The table of every setting, its variable, flag, default and meaning."""
    from simgate import config_docs as generator

    if output is None:
        click.echo(generator.render(), nl=False)
    else:
        generator.write(output)
        click.echo(f"wrote {output}")


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
    from simgate.services.passwords import hash_password

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
    from simgate.services.passwords import set_password

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


# --- retention -----------------------------------------------------------------


@main.command()
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@store_options
def prune(dry_run: bool, overrides: dict[str, Any]) -> None:
    """Delete finished rows past their retention now (`serve` also does it every hour).

    How long rows are kept comes from the SIMGATE_RETENTION_* settings
    (docs/retention.md). Safe while the server runs: it deletes in small batches
    and rests between them (SIMGATE_RETENTION_STORE_SHARE=1: flat out).
    """
    import asyncio

    from simgate.domain.dates import utcnow
    from simgate.services import retention

    settings = load_settings(overrides)
    engine = open_store(overrides)
    now = utcnow()
    try:
        if dry_run:
            counts = retention.count_due(engine, settings, now)
        else:
            counts = asyncio.run(retention.prune(engine, settings, now, asyncio.Event()))
    finally:
        engine.dispose()
    cutoffs = retention.cutoffs(settings, now)
    for target, count in counts.items():
        cutoff = cutoffs[target]
        if count is None or cutoff is None:
            click.echo(f"{target.label}: kept (retention off)")
            continue
        verb = "to delete" if dry_run else "deleted"
        when = f"{target.aged} before {cutoff:%Y-%m-%d %H:%M} UTC"
        click.echo(f"{target.label}: {count} {verb} ({when})")


# Command groups that live beside the code they drive.
from simgate import devices_cli  # noqa: E402
from simgate.device.cli import device  # noqa: E402  (the agent's, not the operator's)

main.add_command(devices_cli.devices)
main.add_command(device)

from simgate import webhooks_cli  # noqa: E402

accounts.add_command(webhooks_cli.accounts_webhooks)
accounts.add_command(webhooks_cli.accounts_webhook_secret)
main.add_command(webhooks_cli.webhooks)

from simgate.policy_cli import policy  # noqa: E402

main.add_command(policy)
from simgate.optouts_cli import optouts  # noqa: E402

main.add_command(optouts)

from simgate.client.cli import contacts, send  # noqa: E402  (user side: over HTTP, via the SDK)

main.add_command(send)
main.add_command(contacts)


if __name__ == "__main__":
    main()
