"""`simgate optouts ...`: an account's opt-out (STOP) list from the shell.

    simgate optouts list EMAIL [--search PREFIX] [--limit N] [--json]
    simgate optouts add EMAIL NUMBER... [--note TEXT]
    simgate optouts remove EMAIL NUMBER... [--note TEXT]
    simgate optouts import EMAIL FILE|- [--note TEXT]
    simgate optouts export EMAIL [--output FILE]
    simgate optouts history EMAIL NUMBER

Changes made here are recorded with reason `manual` (`imported` for a file).
`cli.py` registers the group.
"""

from __future__ import annotations

import json
from typing import IO, Any

import click

from simgate.cli_options import fail, open_store, store_options


@click.group()
def optouts() -> None:
    """The account's opt-out (STOP) list: numbers no message is sent to."""


def _account(engine: Any, email: str) -> Any:
    from simgate.errors import NotFound
    from simgate.services.accounts import get_account
    from simgate.store.db import reading

    with reading(engine) as conn:
        try:
            return get_account(conn, email)
        except NotFound as exc:
            fail(str(exc))


@optouts.command("list")
@click.argument("email")
@click.option("--search", default="", metavar="PREFIX", help="Numbers that start with this.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@store_options
def optouts_list(
    email: str, search: str, limit: int, as_json: bool, overrides: dict[str, Any]
) -> None:
    """The newest entries first (all of them: `optouts export`)."""
    from simgate.errors import Invalid
    from simgate.services import suppressions

    engine = open_store(overrides)
    account = _account(engine, email)
    try:
        rows, more = suppressions.page(engine, account, limit=limit, search=search)
    except Invalid as exc:
        fail(str(exc))
    for e in rows:
        if as_json:
            item = {
                "phone_number": e.phone_number,
                "reason": e.reason,
                "detail": e.detail,
                "since": e.since.isoformat() + "Z",
            }
            click.echo(json.dumps(item, ensure_ascii=False))
        else:
            click.echo(f"{e.phone_number}\t{e.since:%Y-%m-%d %H:%M:%S}\t{e.reason}\t{e.detail}")
    if more:
        click.echo(f"(more than {limit}; --limit or `optouts export` for all)", err=True)


def _change(
    verb: str, email: str, numbers: tuple[str, ...], note: str, overrides: dict[str, Any]
) -> None:
    from simgate.errors import Invalid
    from simgate.services import suppressions

    engine = open_store(overrides)
    account = _account(engine, email)
    action = suppressions.add if verb == "add" else suppressions.remove
    try:
        change = action(engine, account, list(numbers), "manual", note)
    except Invalid as exc:
        fail(str(exc))
    done = "added" if verb == "add" else "removed"
    idle = "already on the list" if verb == "add" else "not on the list"
    for number in change.changed:
        click.echo(f"{done}\t{number}")
    for number in change.unchanged:
        click.echo(f"{idle}\t{number}")


@optouts.command("add")
@click.argument("email")
@click.argument("numbers", nargs=-1, required=True)
@click.option("--note", default="", help="Why (kept in each number's history).")
@store_options
def optouts_add(email: str, numbers: tuple[str, ...], note: str, overrides: dict[str, Any]) -> None:
    """Put numbers on the list (read with the account's region)."""
    _change("add", email, numbers, note, overrides)


@optouts.command("remove")
@click.argument("email")
@click.argument("numbers", nargs=-1, required=True)
@click.option("--note", default="", help="Why (kept in each number's history).")
@store_options
def optouts_remove(
    email: str, numbers: tuple[str, ...], note: str, overrides: dict[str, Any]
) -> None:
    """Take numbers off the list: messages reach them again."""
    _change("remove", email, numbers, note, overrides)


@optouts.command("import")
@click.argument("email")
@click.argument("source", type=click.File("r", encoding="utf-8-sig"))
@click.option("--note", default="", help="Kept in each number's history.")
@store_options
def optouts_import(email: str, source: IO[str], note: str, overrides: dict[str, Any]) -> None:
    """Import a CSV or text file (first column; `-` reads stdin) in one transaction.

    Lines that are not numbers are reported and skipped; the rest are imported."""
    from simgate.errors import Invalid
    from simgate.services import suppressions

    engine = open_store(overrides)
    account = _account(engine, email)
    try:
        change = suppressions.import_text(engine, account, source.read(), note)
    except (Invalid, UnicodeDecodeError) as exc:
        fail(str(exc))
    for line, text, why in change.errors:
        click.echo(f"line {line}: {text!r}: {why}", err=True)
    click.echo(
        f"imported {len(change.changed)}, already on the list {len(change.unchanged)}, "
        f"refused {len(change.errors)}"
    )


@optouts.command("export")
@click.argument("email")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-")
@store_options
def optouts_export(email: str, output: IO[str], overrides: dict[str, Any]) -> None:
    """The whole list as CSV: number, reason, detail, since (UTC)."""
    from simgate.services import suppressions

    engine = open_store(overrides)
    account = _account(engine, email)
    for chunk in suppressions.export_csv(engine, account):
        output.write(chunk)


@optouts.command("history")
@click.argument("email")
@click.argument("number")
@store_options
def optouts_history(email: str, number: str, overrides: dict[str, Any]) -> None:
    """Every change to one number, newest first."""
    from simgate.errors import Invalid
    from simgate.services import suppressions

    engine = open_store(overrides)
    account = _account(engine, email)
    try:
        e164, entry, events = suppressions.history(engine, account, number)
    except Invalid as exc:
        fail(str(exc))
    state = f"on the list since {entry.since:%Y-%m-%d %H:%M:%S}" if entry else "not on the list"
    click.echo(f"{e164}: {state}")
    for ev in events:
        click.echo(f"{ev.at:%Y-%m-%d %H:%M:%S}\t{ev.action}\t{ev.reason}\t{ev.detail}")
