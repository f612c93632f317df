"""Call qualifications, from the phone (`mobile`) or the dashboard and v2
(`interface`), and the options an account offers to qualify a call with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine

from simgate._wire import QUALIFICATION_SOURCES
from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.domain import payloads
from simgate.errors import NotFound
from simgate.services import outbox
from simgate.services.accounts import Account
from simgate.store import calls
from simgate.store import qualification_options as options
from simgate.store.db import reading, run_write
from simgate.store.qualification_options import OptionRow


@dataclass(frozen=True, slots=True)
class Qualified:
    """A qualification just recorded with an option."""

    id: int
    call_id: int
    phone_number: str
    option: OptionRow
    notes: str
    created_at: datetime


def record_qualification(
    conn: Connection,
    account: Account,
    from_number: str,
    text: str,
    source: str,
    now: datetime,
    call_id: int | None = None,
    at: datetime | None = None,
    option_id: int | None = None,
    notes: str | None = None,
) -> int:
    """Store a qualification and queue its `qualification` webhook, in `conn`'s
    transaction; `at` (default `now`) is when it was made."""
    assert source in QUALIFICATION_SOURCES, source
    at = at or now
    qualification_id = calls.insert_qualification(
        conn, account.id, call_id, source, from_number, text, at, option_id, notes
    )
    outbox.enqueue(
        conn,
        account.id,
        "qualification",
        payloads.qualification(account.email, source, from_number, text, at, account.tz),
        now=now,
    )
    return qualification_id


def qualify_with_option(
    engine: Engine,
    account: Account,
    call_id: int,
    option_id: int,
    notes: str,
    clock: Clock = SYSTEM_CLOCK,
) -> Qualified:
    """Qualify the account's call with one of its live options: the option's
    label is the qualification's text (what the webhook carries), the notes
    are kept beside it. NotFound names `call_id` or `option_id`."""

    def work(conn: Connection) -> Qualified:
        number = calls.number_of_call(conn, account.id, call_id)
        if number is None:
            raise NotFound(f"no call {call_id}", field="call_id")
        option = options.one(conn, account.id, option_id)
        if option is None:
            raise NotFound(f"no qualification option {option_id}", field="option_id")
        now = clock.now()
        new_id = record_qualification(
            conn,
            account,
            number,
            option.label,
            "interface",
            now,
            call_id=call_id,
            option_id=option.id,
            notes=notes or None,
        )
        return Qualified(new_id, call_id, number, option, notes, now)

    return run_write(engine, work)


# --- options ------------------------------------------------------------------------


def list_options(engine: Engine, account_id: int) -> list[OptionRow]:
    with reading(engine) as conn:
        return options.live(conn, account_id)


def create_option(
    engine: Engine, account_id: int, label: str, clock: Clock = SYSTEM_CLOCK
) -> OptionRow:
    return run_write(
        engine, lambda conn: options.insert_option(conn, account_id, label, clock.now())
    )


def update_option(engine: Engine, account_id: int, option_id: int, label: str) -> OptionRow:
    def work(conn: Connection) -> OptionRow:
        if not options.relabel(conn, account_id, option_id, label):
            raise NotFound(f"no qualification option {option_id}", field="option_id")
        found = options.one(conn, account_id, option_id)
        assert found is not None
        return found

    return run_write(engine, work)


def delete_option(
    engine: Engine, account_id: int, option_id: int, clock: Clock = SYSTEM_CLOCK
) -> OptionRow:
    """Hide the option; qualifications made with it keep their text."""

    def work(conn: Connection) -> OptionRow:
        found = options.one(conn, account_id, option_id)
        if found is None or not options.hide(conn, account_id, option_id, clock.now()):
            raise NotFound(f"no qualification option {option_id}", field="option_id")
        return found

    return run_write(engine, work)


__all__ = [
    "OptionRow",
    "Qualified",
    "create_option",
    "delete_option",
    "list_options",
    "qualify_with_option",
    "record_qualification",
    "update_option",
]
