"""The Contacts page: search, edit, delete, and CSV import and export."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from simgate._contacts_csv import read_contacts
from simgate._wire import CONTACT_ERRORS
from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.domain.numbers import InvalidNumber, to_e164
from simgate.errors import NotFound
from simgate.services.accounts import Account
from simgate.services.contacts import EMAIL_RE, upsert_contacts
from simgate.store import contacts as contact_store
from simgate.store.dashboard import contacts as store
from simgate.store.dashboard.common import Page
from simgate.store.dashboard.contacts import ContactRow
from simgate.store.db import reading, run_write

CSV_FIELDS = contact_store.FIELDS
MAX_IMPORT_ROWS = 50_000


def list_contacts(engine: Engine, account_id: int, search: str = "", link: str = "") -> Page:
    with reading(engine) as conn:
        return store.page_of_contacts(conn, account_id, search, link)


def get_contact(engine: Engine, account_id: int, contact_id: int) -> ContactRow:
    with reading(engine) as conn:
        row = store.contact(conn, account_id, contact_id)
    if row is None:
        raise NotFound(f"no contact {contact_id}")
    return row


def update_contact(
    engine: Engine,
    account: Account,
    contact_id: int,
    values: dict[str, str],
    clock: Clock = SYSTEM_CLOCK,
) -> dict[str, str]:
    """Save an edited contact; returns errors by field (empty when saved)."""
    errors: dict[str, str] = {}
    clean = {k: (values.get(k) or "").strip()[:500] for k in CSV_FIELDS}
    try:
        clean["phone_number"] = to_e164(clean["phone_number"], account.region)
    except InvalidNumber:
        errors["phone_number"] = "not a valid phone number"
    if clean["email"] and not EMAIL_RE.match(clean["email"]):
        errors["email"] = "not a valid e-mail address"
    if errors:
        return errors

    def work(conn: Connection) -> dict[str, str]:
        if contact_store.number_taken(conn, account.id, clean["phone_number"], contact_id):
            return {"phone_number": "another contact already has this number"}
        # update_contact keeps search_name (what searches compare) in step.
        if not contact_store.update_contact(conn, account.id, contact_id, clean, clock.now()):
            raise NotFound(f"no contact {contact_id}")
        return {}

    return run_write(engine, work)


def delete_contact(
    engine: Engine, account_id: int, contact_id: int, clock: Clock = SYSTEM_CLOCK
) -> None:
    """A soft delete (contacts.deleted_at): the contact comes back, tags and
    lists kept, when its number is imported or upserted again."""

    def work(conn: Connection) -> None:
        if not contact_store.soft_delete(conn, account_id, contact_id, clock.now()):
            raise NotFound(f"no contact {contact_id}")

    run_write(engine, work)


def export_contacts(engine: Engine, account_id: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    with reading(engine) as conn:
        rows = store.export_rows(conn, account_id)
    for phone_number, *rest in rows:
        # The number is E.164 and always starts with "+": it is the one cell left as is.
        writer.writerow([phone_number, *(spreadsheet_safe(v) for v in rest)])
    return out.getvalue()


# What spreadsheets read as the start of a formula (OWASP "CSV injection"): = + - @,
# and tab, CR and LF, which some of them skip before looking for those.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet shows as text: a leading ' where it could start a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


@dataclass(frozen=True, slots=True)
class ImportResult:
    stored: int
    failed: list[tuple[int, str, str]]  # (line, number as written, reasons)


def import_contacts(
    engine: Engine, account: Account, text: str, clock: Clock = SYSTEM_CLOCK
) -> ImportResult:
    """Upsert contacts from CSV text with a header row (simgate._contacts_csv);
    raises ValueError on a bad file."""
    if "\x00" in text:  # UTF-16 exports are full of them; PostgreSQL refuses them in text
        raise ValueError("the file holds NUL characters: save it as CSV (UTF-8) and try again")
    rows = read_contacts(text, MAX_IMPORT_ROWS)
    items: list[dict[str, Any]] = []
    for row in rows:
        record: dict[str, Any] = dict(row.values)
        record["adress"] = record.pop("address", "")  # the API's spelling
        items.append(record)
    answers = upsert_contacts(engine, account, items, clock) if items else []
    failed = [
        (row.line, row.values.get("phone_number", ""), _reasons(answer.get("errors", [])))
        for row, answer in zip(rows, answers, strict=True)
        if answer["result"] != "success"
    ]
    return ImportResult(len(items) - len(failed), failed)


def _reasons(codes: list[str]) -> str:
    return ", ".join(CONTACT_ERRORS.get(code, code) for code in codes)
