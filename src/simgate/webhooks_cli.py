"""Webhook commands: callback URLs and secrets per account, the delivery log, replays.

    simgate accounts webhooks EMAIL [--message URL] [--calls URL] [--clics URL]
                                    [--qualification URL] [--status URL]
    simgate accounts webhook-secret EMAIL [--rotate]
    simgate webhooks list EMAIL [--state pending|dead|done] [--limit N] [--json]
    simgate webhooks replay (ID | --dead EMAIL)

`cli.py` adds the two `accounts` subcommands and the `webhooks` group.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from simgate._wire import WEBHOOK_KINDS
from simgate.cli_options import fail, load_settings, store_options
from simgate.domain.states import DELIVERY_STATES


@contextmanager
def store(overrides: dict[str, Any]) -> Iterator[Any]:
    """The migrated store, closed after the command (it may run in-process, as in tests)."""
    from simgate.cli_options import open_store

    engine = open_store(overrides)
    try:
        yield engine
    finally:
        engine.dispose()


@click.command("webhooks")
@click.argument("email")
@click.option("--message", metavar="URL", help="Callback URL for received SMS.")
@click.option("--calls", metavar="URL", help="Callback URL for call events.")
@click.option("--clics", metavar="URL", help="Callback URL for tracked-link clicks.")
@click.option("--qualification", metavar="URL", help="Callback URL for call qualifications.")
@click.option("--status", metavar="URL", help="Callback URL for delivery status (DLR).")
@store_options
def accounts_webhooks(email: str, overrides: dict[str, Any], **urls: str | None) -> None:
    """Show or set the account's callback URLs ("" clears one).

    URLs must be http:// or https://; numeric private, loopback and
    metadata addresses are refused unless SIMGATE_ALLOW_PRIVATE_CALLBACKS=true.
    """
    from simgate.errors import NotFound
    from simgate.services.webhook_admin import get_callbacks, set_callbacks

    settings = load_settings(overrides)
    changes = {kind: url for kind, url in urls.items() if url is not None}
    with store(overrides) as engine:
        try:
            if changes:
                current = set_callbacks(
                    engine, email, changes, allow_private=settings.allow_private_callbacks
                )
            else:
                current = get_callbacks(engine, email)
        except (NotFound, ValueError) as exc:
            fail(str(exc))
    for kind in WEBHOOK_KINDS:
        click.echo(f"{kind:<14}{current[kind] or '-'}")


@click.command("webhook-secret")
@click.argument("email")
@click.option("--rotate", is_flag=True, help="Replace the secret (receivers need the new one).")
@store_options
def accounts_webhook_secret(email: str, rotate: bool, overrides: dict[str, Any]) -> None:
    """Print the signing secret (created on first use); webhooks are signed once it exists."""
    from simgate.errors import NotFound
    from simgate.services.webhook_admin import signing_secret

    with store(overrides) as engine:
        try:
            click.echo(signing_secret(engine, email, rotate=rotate))
        except NotFound as exc:
            fail(str(exc))


@click.group()
def webhooks() -> None:
    """The webhook delivery log."""


@webhooks.command("list")
@click.argument("email")
@click.option("--state", type=click.Choice(DELIVERY_STATES), default=None)
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@store_options
def webhooks_list(
    email: str, state: str | None, limit: int, as_json: bool, overrides: dict[str, Any]
) -> None:
    """List the account's deliveries, newest first (never their payloads)."""
    from simgate.errors import NotFound
    from simgate.services.webhook_admin import list_webhooks

    with store(overrides) as engine:
        try:
            rows = list_webhooks(engine, email, state, limit)
        except NotFound as exc:
            fail(str(exc))
    for w in rows:
        if as_json:
            item = {
                "id": w.id,
                "event_id": w.event_id,
                "kind": w.kind,
                "state": w.state,
                "attempts": w.attempts,
                "last_status": w.last_status,
                "last_error": w.last_error,
                "created_at": w.created_at.isoformat(),
                "next_attempt_at": w.next_attempt_at.isoformat(),
                "done_at": w.done_at.isoformat() if w.done_at else None,
            }
            click.echo(json.dumps(item))
            continue
        when = w.done_at if w.done_at else w.next_attempt_at
        label = "at" if w.done_at else "next"
        click.echo(
            f"{w.id}\t{w.event_id}\t{w.kind}\t{w.state}\tattempts {w.attempts}\t"
            f"{label} {when:%Y-%m-%d %H:%M:%S}\t{w.last_status or '-'}\t{w.last_error or ''}"
        )


@webhooks.command("replay")
@click.argument("ident", metavar="ID", required=False)
@click.option("--dead", "dead_email", metavar="EMAIL", help="Replay every dead delivery.")
@store_options
def webhooks_replay(ident: str | None, dead_email: str | None, overrides: dict[str, Any]) -> None:
    """Send a delivery again (ID or event id from `webhooks list`), or all dead ones."""
    from simgate.errors import NotFound
    from simgate.services.webhook_admin import replay, replay_dead

    if (ident is None) == (dead_email is None):
        raise click.UsageError("give either an ID or --dead EMAIL")
    with store(overrides) as engine:
        try:
            if dead_email is not None:
                replayed, skipped = replay_dead(engine, dead_email)
                click.echo(f"replaying {replayed} dead deliveries")
                if skipped:
                    click.echo(f"skipped {skipped} whose kind has no callback URL now", err=True)
            else:
                assert ident is not None
                info = replay(engine, ident)
                click.echo(f"replaying {info.id} ({info.event_id}, {info.kind})")
        except (NotFound, ValueError) as exc:
            fail(str(exc))
