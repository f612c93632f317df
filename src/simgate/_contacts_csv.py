"""Contacts in a CSV file, as spreadsheets write them: one reader for both
`simgate contacts import` (the SDK's command line) and the dashboard's import.

The standard library only, like `_wire.py` and for the same reason: the SDK
installs without the server's dependencies.

The first line names the columns. Names are read without case, spaces or
dashes ("Phone Number", "first-name"), and the names people actually use for
the same column (`phone`, `mobile`, `adress`, `e-mail`...) are taken too;
other columns are ignored. Comma, semicolon or tab separated.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

# Column name, normalised (see `field_of`) → contact field; the fields are the
# columns the dashboard's export writes, so an export imports as it is.
ALIASES = {
    "phone_number": "phone_number",
    "phonenumber": "phone_number",
    "phone": "phone_number",
    "number": "phone_number",
    "mobile": "phone_number",
    "firstname": "firstname",
    "first_name": "firstname",
    "lastname": "lastname",
    "last_name": "lastname",
    "address": "address",
    "adress": "address",  # the inSIM reference's spelling
    "email": "email",
    "e_mail": "email",
    "mail": "email",
}


class CsvProblem(ValueError):
    """The file cannot be read as contacts; the message says why, for the user."""


@dataclass(frozen=True, slots=True)
class CsvContact:
    line: int  # where the row ends in the file, for messages
    values: dict[str, str]  # field → cell, stripped; only the fields the file has


def field_of(column: str) -> str | None:
    """The contact field a column name stands for, or None."""
    return ALIASES.get(column.strip().lower().replace(" ", "_").replace("-", "_"))


def read_contacts(text: str, max_rows: int | None = None) -> list[CsvContact]:
    """The contacts of CSV `text`, blank rows skipped. Raises CsvProblem."""
    text = text.removeprefix("\ufeff")  # Excel writes a BOM
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        return _rows(reader, max_rows)
    except csv.Error as exc:
        raise CsvProblem(f"not a CSV file this can read: {exc}") from None


def _rows(reader: Any, max_rows: int | None) -> list[CsvContact]:
    header = next(reader, None)
    if header is None:
        raise CsvProblem("the file is empty")
    fields = [field_of(name) for name in header]
    if "phone_number" not in fields:
        raise CsvProblem(
            "no phone_number column: the first line must name the columns"
            f" (found: {', '.join(header)})"
        )
    found: list[CsvContact] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if max_rows is not None and len(found) >= max_rows:
            raise CsvProblem(f"at most {max_rows} contacts per file")
        values = {f: cell.strip() for f, cell in zip(fields, row, strict=False) if f}
        found.append(CsvContact(reader.line_num, values))
    return found
