"""Sending policy commands (docs/policy.md): show an account's policy, change it.

    simgate policy show EMAIL [--json]
    simgate policy set EMAIL [--windows TEXT] [--skip-holidays/--no-skip-holidays]
                             [--hourly-cap N] [--daily-cap N] [--default-validity S] ...

`cli.py` adds the `policy` group.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import click

from simgate.cli_options import fail, store_options
from simgate.domain.policy import AccountPolicy

# Typed options: (option, setting, help). An empty value clears the setting.
TYPED = (
    (
        "--windows",
        "windows",
        'Sending windows, e.g. "Mon-Sat 08:00-20:00; Sun 10:00-12:00"; "": any hour.',
    ),
    ("--hourly-cap", "hourly_cap", 'Messages first handed to a phone per hour; "": no cap.'),
    ("--daily-cap", "daily_cap", 'Messages first handed to a phone per local day; "": no cap.'),
    (
        "--default-validity",
        "default_validity",
        'Seconds, for messages that name none; "": no limit.',
    ),
    ("--optout-keywords", "optout_keywords", 'Comma-separated; "": the default list.'),
    ("--optin-keywords", "optin_keywords", 'Comma-separated; "": the default list.'),
    ("--optout-reply", "optout_reply", 'Text sent back to a number that opts out; "": none.'),
    ("--optin-reply", "optin_reply", 'Text sent back to a number that opts in again; "": none.'),
    ("--missed-call-reply", "missed_call_reply", 'Text sent after a missed call; "": none.'),
    (
        "--missed-call-period",
        "missed_call_period",
        'Seconds between two replies to a number; "": a day.',
    ),
)
# Switches: (option, setting, help).
SWITCHES = (
    ("optout-enabled", "optout_enabled", "Match incoming SMS against the keywords."),
    ("skip-holidays", "skip_holidays", "No window on the public holidays of the account's region."),
    ("window-for-api", "window_for_api", "API and dashboard messages keep to the window."),
    ("window-for-campaigns", "window_for_campaigns", "Campaigns keep to the window."),
)


@click.group()
def policy() -> None:
    """An account's sending policy: opt-out, quiet hours, validity, caps, missed-call reply."""


def _store(overrides: dict[str, Any]) -> Any:
    from simgate.cli_options import open_store

    return open_store(overrides)


def _show(current: AccountPolicy, as_json: bool) -> None:
    from simgate.domain.policy_text import as_text

    if as_json:
        values: dict[str, Any] = dataclasses.asdict(current)
        values["windows"] = as_text(current)["windows"]
        click.echo(json.dumps(values, ensure_ascii=False, indent=2))
        return
    shown = as_text(current)
    for _, name, _ in SWITCHES:
        click.echo(f"{name:<22}{'on' if getattr(current, name) else 'off'}")
    for _, name, _ in TYPED:
        click.echo(f"{name:<22}{shown[name] or '-'}")


@policy.command("show")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@store_options
def policy_show(email: str, as_json: bool, overrides: dict[str, Any]) -> None:
    """Print the account's sending policy ("-": none, the default)."""
    from simgate.errors import NotFound
    from simgate.services.accounts import get_account
    from simgate.services.policy import get_policy
    from simgate.store.db import reading

    engine = _store(overrides)
    try:
        with reading(engine) as conn:
            account = get_account(conn, email)
        current = get_policy(engine, account)
    except NotFound as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    _show(current, as_json)


def _set_options(func: Any) -> Any:
    for option, _, text in reversed(TYPED):
        func = click.option(option, metavar="TEXT", help=text)(func)
    for option, _, text in reversed(SWITCHES):
        func = click.option(f"--{option}/--no-{option}", default=None, help=text)(func)
    return func


@policy.command("set")
@click.argument("email")
@_set_options
@store_options
def policy_set(email: str, overrides: dict[str, Any], **given: Any) -> None:
    """Change some settings of the account's sending policy, then print it.

    Settings not named keep their value; an empty value ("") clears one
    (no windows, no cap, the default keywords, no reply).
    """
    from simgate.domain.policy_text import parse_form
    from simgate.errors import NotFound
    from simgate.services.accounts import get_account
    from simgate.services.policy import PolicyError, update_policy
    from simgate.store.db import reading

    typed = {name: given[name] for _, name, _ in TYPED if given[name] is not None}
    switches = {name: given[name] for _, name, _ in SWITCHES if given[name] is not None}
    changes, errors = parse_form(typed, switches)
    if errors:
        fail("; ".join(f"{field}: {reason}" for field, reason in errors.items()))
    engine = _store(overrides)
    try:
        with reading(engine) as conn:
            account = get_account(conn, email)
        current = update_policy(engine, account, **changes)
    except (NotFound, PolicyError) as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    _show(current, as_json=False)
