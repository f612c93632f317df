"""The account's opt-out list (docs/policy.md, "Opt-out (STOP)"): keywords
received from phones, and the list managed by hand (dashboard, CLI, API).

Every change records an event with when and why: `keyword` (a STOP/START
received; detail: the text), `imported` (a file), `manual` (dashboard, CLI)
or `api` (v2 optouts/*). Numbers are E.164, parsed with the account's region,
so that a later send to "+336…" or "06…" matches.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.domain import optout
from simgate.domain.messages import Draft, judge
from simgate.domain.numbers import InvalidNumber, to_e164
from simgate.domain.policy import AccountPolicy
from simgate.errors import Invalid
from simgate.services import messages
from simgate.services.dashboard.contacts import spreadsheet_safe
from simgate.store import policies
from simgate.store import suppressions as store
from simgate.store.accounts import Account
from simgate.store.db import reading, run_write
from simgate.store.suppressions import Entry, Event, Refusal

__all__ = [
    "Change",
    "Entry",
    "Event",
    "Refusal",
    "add",
    "check",
    "export_csv",
    "history",
    "import_text",
    "keyword_received",
    "page",
    "parse_number",
    "remove",
]

REASONS = ("keyword", "imported", "manual", "api")
MAX_NOTE = 500
MAX_NUMBERS_PER_CALL = 1000
MAX_IMPORT_LINES = 100_000
MAX_PAGE = 1000
HISTORY_LIMIT = 200
EXPORT_CHUNK = 1000
_PREFIX_CHARS = frozenset("+0123456789")


@dataclass(slots=True)
class Change:
    """What an add, remove or import did."""

    changed: list[str] = field(default_factory=list)  # added / removed
    unchanged: list[str] = field(default_factory=list)  # already on (add) / not on (remove)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (line, text, why)


def parse_number(raw: object, region: str, name: str = "phone_number") -> str:
    """An outside number in E.164; Invalid (naming `name`) otherwise."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 40 or "\x00" in raw:
        raise Invalid(name, f"{name}: a phone number as text")
    try:
        return to_e164(raw, region)
    except InvalidNumber:
        raise Invalid(name, f"{name}: {raw.strip()[:40]!r} is not a valid phone number") from None


def check_note(note: object) -> str:
    if note is None:
        return ""
    if not isinstance(note, str) or "\x00" in note or len(note) > MAX_NOTE:
        raise Invalid("note", f"note: text of at most {MAX_NOTE} characters")
    return note.strip()


def _reason(reason: str) -> str:
    if reason not in REASONS:
        raise Invalid("reason", f"reason: one of {', '.join(REASONS)}")
    return reason


def _numbers(raw: Iterable[object], region: str) -> list[str]:
    found = [parse_number(r, region, "phone_numbers") for r in raw]
    if len(found) > MAX_NUMBERS_PER_CALL:
        raise Invalid("phone_numbers", f"at most {MAX_NUMBERS_PER_CALL} numbers per call")
    return list(dict.fromkeys(found))


def add(
    engine: Engine,
    account: Account,
    raw_numbers: Iterable[object],
    reason: str = "manual",
    note: object = "",
    clock: Clock = SYSTEM_CLOCK,
) -> Change:
    """Put numbers on the list (all checked first: one bad number changes nothing)."""
    return _change(engine, account, store.add, raw_numbers, reason, note, clock)


def remove(
    engine: Engine,
    account: Account,
    raw_numbers: Iterable[object],
    reason: str = "manual",
    note: object = "",
    clock: Clock = SYSTEM_CLOCK,
) -> Change:
    """Take numbers off the list; the removal is kept in their history."""
    return _change(engine, account, store.remove, raw_numbers, reason, note, clock)


def _change(
    engine: Engine,
    account: Account,
    apply: Callable[[Connection, int, dict[str, str], str, datetime], list[str]],
    raw_numbers: Iterable[object],
    reason: str,
    note: object,
    clock: Clock,
) -> Change:
    """`apply` (store.add or store.remove) to the numbers, all checked first;
    the numbers it changed, and the others."""
    numbers, detail, why = _numbers(raw_numbers, account.region), check_note(note), _reason(reason)

    def work(conn: Connection) -> Change:
        changed = apply(conn, account.id, dict.fromkeys(numbers, detail), why, clock.now())
        return Change(changed, [n for n in numbers if n not in set(changed)])

    return run_write(engine, work)


def _import_lines(text: str, region: str) -> tuple[list[str], list[tuple[int, str, str]]]:
    """Numbers of a CSV or plain-text file: the first column of each line; a
    header line ("number", "phone_number", …) and blank lines are skipped."""
    numbers: list[str] = []
    errors: list[tuple[int, str, str]] = []
    for line_no, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if line_no > MAX_IMPORT_LINES:
            raise Invalid("file", f"at most {MAX_IMPORT_LINES} lines per import")
        cell = row[0].strip() if row else ""
        if not cell or cell.startswith("#"):
            continue
        if line_no == 1 and not any(ch.isdigit() for ch in cell):
            continue  # a header
        try:
            numbers.append(to_e164(cell, region) if len(cell) <= 40 else "")
        except InvalidNumber:
            errors.append((line_no, cell[:40], "not a valid phone number"))
            continue
        if not numbers[-1]:
            numbers.pop()
            errors.append((line_no, cell[:40], "too long for a phone number"))
    return list(dict.fromkeys(numbers)), errors


def import_text(
    engine: Engine,
    account: Account,
    text: str,
    note: object = "",
    clock: Clock = SYSTEM_CLOCK,
) -> Change:
    """Import a file's numbers in one transaction, reason `imported`; bad
    lines are reported and skipped, the good ones imported."""
    if "\x00" in text:
        raise Invalid("file", "a text or CSV file, one number per line")
    detail = check_note(note)
    numbers, errors = _import_lines(text, account.region)

    def work(conn: Connection) -> Change:
        added = store.add(conn, account.id, dict.fromkeys(numbers, detail), "imported", clock.now())
        return Change(added, [n for n in numbers if n not in set(added)], errors)

    return run_write(engine, work, heavy=len(numbers) > MAX_NUMBERS_PER_CALL)


def _prefix(raw: str) -> str:
    cleaned = "".join(ch for ch in raw.strip() if not ch.isspace())
    if len(cleaned) > 20 or not set(cleaned) <= _PREFIX_CHARS:
        raise Invalid("search", "search: the start of a number, digits and +")
    return cleaned


def page(
    engine: Engine,
    account: Account,
    after: tuple[datetime, str] | None = None,
    limit: int = 100,
    search: str = "",
) -> tuple[list[Entry], bool]:
    """Newest first: (entries, whether more follow) after keyset `after`."""
    prefix = _prefix(search)
    with reading(engine) as conn:
        rows = store.page(conn, account.id, after, min(limit, MAX_PAGE) + 1, prefix)
    return rows[:limit], len(rows) > limit


def check(engine: Engine, account: Account, raw_number: object) -> tuple[str, Entry | None]:
    """(the number in E.164, its entry or None when not on the list)."""
    number = parse_number(raw_number, account.region)
    with reading(engine) as conn:
        return number, store.entry(conn, account.id, number)


def history(
    engine: Engine, account: Account, raw_number: object, limit: int = HISTORY_LIMIT
) -> tuple[str, Entry | None, list[Event]]:
    """(number, its entry now, its changes newest first)."""
    number = parse_number(raw_number, account.region)
    with reading(engine) as conn:
        return (
            number,
            store.entry(conn, account.id, number),
            store.history(conn, account.id, number, limit),
        )


def refusals(engine: Engine, account_id: int, ids: list[str]) -> dict[str, Refusal]:
    """The sends among `ids` (id_sms_api) the opt-out list refused."""
    if not ids:
        return {}
    with reading(engine) as conn:
        return store.refusals(conn, account_id, ids)


def count(engine: Engine, account: Account) -> int:
    with reading(engine) as conn:
        return store.count(conn, account.id)


EXPORT_HEADER = ("number", "reason", "detail", "since")


def export_rows(engine: Engine, account: Account) -> Iterator[Entry]:
    """The whole list, newest first, read by keyset pages (one short read each)."""
    after: tuple[datetime, str] | None = None
    while True:
        with reading(engine) as conn:
            rows = store.page(conn, account.id, after, EXPORT_CHUNK)
        yield from rows
        if len(rows) < EXPORT_CHUNK:
            return
        after = (rows[-1].since, rows[-1].phone_number)


def export_csv(engine: Engine, account: Account) -> Iterator[str]:
    """The list as CSV lines (number, reason, detail, since in UTC ISO 8601)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_HEADER)
    for entry in export_rows(engine, account):
        # Numbers are digits with an optional "+"; the detail (a text
        # received, a note) could start a spreadsheet formula.
        writer.writerow(
            (
                entry.phone_number,
                entry.reason,
                spreadsheet_safe(entry.detail),
                entry.since.isoformat() + "Z",
            )
        )
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


# --- keywords received (services/device_reports) ----------------------------------


def sender_number(sender: str, region: str) -> str | None:
    """The number a keyword came from, as sends name it: E.164 when it
    parses, else as reported; None for an alphanumeric sender (never on the
    list: nobody can send to it)."""
    text = sender.strip()
    if not text or any(ch.isalpha() for ch in text):
        return None
    try:
        return to_e164(text, region)
    except InvalidNumber:
        # A short code or a number the region cannot read: kept when it is
        # digits (no send can name it, but the list shows it was asked).
        digits = text[1:] if text.startswith("+") else text
        return text[:32] if digits.isascii() and digits.isdigit() else None


def keyword_received(
    conn: Connection,
    account: Account,
    sender: str,
    text: str,
    now: datetime,
    policy: AccountPolicy | None = None,
) -> str | None:
    """In the transaction that stores an incoming SMS: when it is an opt-out
    or opt-in keyword, change the list and queue the account's confirmation.
    Returns "optout"/"optin" when the list changed, else None. A repeated
    STOP changes nothing and sends no second confirmation. `policy`: the
    account's, when the caller has read it already."""
    if len(text) > optout.MAX_KEYWORD_TEXT:
        return None  # never a keyword: no read at all for ordinary messages
    if policy is None:
        policy = policies.get(conn, account.id)
    if not policy.optout_enabled:
        return None
    kind = optout.match(text, policy.optout_keywords, policy.optin_keywords)
    if kind is None:
        return None
    number = sender_number(sender, account.region)
    if number is None:
        return None
    details = {number: text[:MAX_NOTE]}
    if kind == "optout":
        changed = store.add(conn, account.id, details, "keyword", now)
        reply = policy.optout_reply
    else:
        changed = store.remove(conn, account.id, details, "keyword", now)
        reply = policy.optin_reply
    if not changed:
        return None
    if reply:
        _queue_reply(conn, account, number, reply, now)
    return kind


def _queue_reply(conn: Connection, account: Account, number: str, text: str, now: datetime) -> None:
    """The confirmation, as any message (id, priority, dispatch, status
    webhooks), past the opt-out check: it goes to the number that just
    opted out. A reply that cannot be judged (a number no send accepts) is
    not sent."""
    item: dict[str, Any] = {"phone_number": number, "message": text}
    verdict = judge(item, account.region, account.tz, "", now)
    if isinstance(verdict, Draft):
        messages.store_judged(conn, account, [verdict], now, apply_policy=False)
