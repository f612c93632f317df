"""User-side commands on the SDK: `simgate send` and `simgate contacts import`.

They talk to a gateway over HTTP like any other client (they never open the
store), so they work against a remote simgate or the hosted inSIM service.
Connection: --base-url / --login / --access-key, or SIMGATE_URL,
SIMGATE_LOGIN, SIMGATE_ACCESS_KEY. (`--url` of `send` is the reference's
tracked link, hence --base-url for the server.) The key is never printed.
"""

from __future__ import annotations

import functools
import json
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from simgate._contacts_csv import CsvProblem, read_contacts
from simgate._wire import CONTACT_ERRORS, SMS_ERRORS, describe
from simgate.client._client import Client
from simgate.client._errors import ApiError
from simgate.client._models import Contact, Sms

LOCAL_URL = "http://127.0.0.1:8000"  # where `simgate serve` listens by default


F = TypeVar("F", bound=Callable[..., Any])


def connection_options(func: F) -> F:
    @click.option(
        "--base-url",
        envvar="SIMGATE_URL",
        default=LOCAL_URL,
        show_default=True,
        help="The gateway [env SIMGATE_URL].",
    )
    @click.option("--login", envvar="SIMGATE_LOGIN", help="Account login [env SIMGATE_LOGIN].")
    @click.option(
        "--access-key", envvar="SIMGATE_ACCESS_KEY", help="API key [env SIMGATE_ACCESS_KEY]."
    )
    @functools.wraps(func)
    def wrapper(
        *args: Any, base_url: str, login: str | None, access_key: str | None, **kw: Any
    ) -> Any:
        if not login or not access_key:
            raise click.UsageError(
                "give --login and --access-key (or SIMGATE_LOGIN and SIMGATE_ACCESS_KEY)"
            )
        with Client(login, access_key, base_url=base_url, timeout=60) as client:
            try:
                return func(*args, client=client, **kw)
            except ApiError as exc:
                click.echo(f"error: {exc}", err=True)
                sys.exit(1)

    return wrapper  # type: ignore[return-value]


# --- send ----------------------------------------------------------------------------


@click.command("send")
@click.option(
    "--to",
    "numbers",
    multiple=True,
    required=True,
    metavar="NUMBER",
    help="Recipient; repeat the option or separate numbers with commas.",
)
@click.option("--text", required=True, help="The message; [link] marks where --url goes.")
@click.option("--url", "link", default=None, help="A link to track (a short link per message).")
@click.option(
    "--at",
    default=None,
    metavar="DATETIME",
    help='Send later: "YYYY-MM-DD HH:MM:SS" in the account\'s time zone, or ISO 8601.',
)
@click.option("--priority", type=int, default=None, help="Higher is sent first [default 1].")
@click.option("--json", "as_json", is_flag=True, help="Print the server's answer as JSON.")
@connection_options
def send(
    client: Client,
    numbers: tuple[str, ...],
    text: str,
    link: str | None,
    at: str | None,
    priority: int | None,
    as_json: bool,
) -> None:
    """Send an SMS to one or more numbers and print one result per number.

    Exits with 1 when any message was refused.
    """
    recipients = [n.strip() for value in numbers for n in value.split(",") if n.strip()]
    if not recipients:
        raise click.UsageError("--to needs at least one number")
    results = client.send_sms(
        [Sms(n, text, url=link, priority=priority, date_to_send=at) for n in recipients]
    )
    if as_json:
        click.echo(json.dumps([dict(r.raw) for r in results], ensure_ascii=False, indent=2))
    else:
        for number, result in zip(recipients, results, strict=True):
            if result.sent:
                click.echo(
                    f"sent    {result.phone_number}  id={result.id_sms_api}"
                    f"  parts={result.sms_per_message}"
                )
            else:
                reasons = ", ".join(describe(c, SMS_ERRORS) for c in result.errors)
                click.echo(f"failed  {number}  {reasons}")
    if not all(r.sent for r in results):
        sys.exit(1)


# --- contacts import -------------------------------------------------------------------


@click.group("contacts")
def contacts() -> None:
    """The account's contacts, on the gateway's API."""


@contacts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=500,
    show_default=True,
    help="Contacts per request.",
)
@connection_options
def contacts_import(client: Client, file: Path, batch_size: int) -> None:
    """Add or update the contacts of a CSV file (header row needed).

    Columns: phone_number (or phone, number, mobile), firstname, lastname,
    adress (or address), email (or e-mail, mail), in any case, with spaces or
    dashes ("First Name"); others are ignored. Comma, semicolon or tab
    separated. Exits with 1 when any contact was refused.
    """
    rows = list(_read_csv(file))
    failures: dict[str, list[int]] = defaultdict(list)
    warnings: dict[str, list[int]] = defaultdict(list)
    stored = 0
    with click.progressbar(length=len(rows), label="importing contacts", file=sys.stderr) as bar:
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            try:
                results = client.add_contacts([contact for _, contact in chunk])
            except ApiError as exc:
                click.echo(f"\nerror: {exc}; {stored} contacts were stored before it", err=True)
                sys.exit(1)
            for (line, _), result in zip(chunk, results, strict=False):
                for code in result.errors:
                    (warnings if result.ok else failures)[code].append(line)
                stored += result.ok
            bar.update(len(chunk))
    click.echo(_summary(len(rows), stored, failures, warnings))
    if failures:
        sys.exit(1)


def _read_csv(file: Path) -> Iterator[tuple[int, Contact]]:
    """(line number, contact) for each data row."""
    try:
        rows = read_contacts(file.read_text(encoding="utf-8-sig"))
    except CsvProblem as exc:
        raise click.UsageError(f"{file}: {exc}") from None
    for row in rows:
        get = row.values.get
        yield (
            row.line,
            Contact(
                phone_number=get("phone_number", ""),
                first_name=get("firstname", ""),
                last_name=get("lastname", ""),
                address=get("address", ""),
                email=get("email", ""),
            ),
        )


def _summary(
    total: int, stored: int, failures: dict[str, list[int]], warnings: dict[str, list[int]]
) -> str:
    lines = [f"imported {stored} of {total} contacts, {total - stored} failed"]

    def block(title: str, found: dict[str, list[int]]) -> None:
        if not found:
            return
        lines.append(title)
        for code in sorted(found):
            count = len(found[code])
            where = ", ".join(str(n) for n in found[code][:10])
            more = ", ..." if count > 10 else ""
            label = describe(code, CONTACT_ERRORS)
            lines.append(f"  {label}: {count} (line{'s' if count > 1 else ''} {where}{more})")

    block("failures by code:", failures)
    block("warnings:", warnings)
    return "\n".join(lines)
