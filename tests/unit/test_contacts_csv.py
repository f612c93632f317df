"""The one CSV reader behind `simgate contacts import` and the dashboard's import."""

from __future__ import annotations

import pytest

from simgate._contacts_csv import CsvProblem, field_of, read_contacts


@pytest.mark.parametrize(
    ("column", "field"),
    [
        ("phone_number", "phone_number"),
        ("Phone Number", "phone_number"),
        ("PhoneNumber", "phone_number"),
        ("mobile", "phone_number"),
        ("First-Name", "firstname"),
        ("last name", "lastname"),
        ("Adress", "address"),
        ("E-mail", "email"),
        (" mail ", "email"),
        ("notes", None),
    ],
)
def test_column_names_people_use(column: str, field: str | None) -> None:
    assert field_of(column) == field


def test_excel_in_a_french_locale() -> None:
    text = "\ufeffFirst Name;Phone;E-mail;notes\n Zoé ;+33612345678;z@e.com;vip\n;;;\nAnn;;;\n"
    rows = read_contacts(text)
    assert [(r.line, r.values) for r in rows] == [
        (2, {"firstname": "Zoé", "phone_number": "+33612345678", "email": "z@e.com"}),
        (4, {"firstname": "Ann", "phone_number": "", "email": ""}),
    ]


def test_a_short_row_has_only_the_cells_it_holds() -> None:
    [row] = read_contacts("firstname,lastname,phone\nAda,Lovelace\n")
    assert row.values == {"firstname": "Ada", "lastname": "Lovelace"}


def test_what_the_dashboard_exports_reads_back() -> None:
    text = "phone_number,firstname,lastname,address,email\n+33612345678,Ada,L,London,a@b.c\n"
    [row] = read_contacts(text)
    assert row.values == {
        "phone_number": "+33612345678",
        "firstname": "Ada",
        "lastname": "L",
        "address": "London",
        "email": "a@b.c",
    }


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "the file is empty"),
        ("name,email\nAda,a@b.c\n", "no phone_number column"),
        ('phone\n"' + "6" * 200_000, "not a CSV file"),  # over the csv module's field limit
    ],
)
def test_files_it_cannot_read(text: str, says: str) -> None:
    with pytest.raises(CsvProblem, match=says):
        read_contacts(text)


def test_at_most_max_rows() -> None:
    text = "phone\n1\n2\n\n3\n"
    assert len(read_contacts(text, max_rows=3)) == 3
    with pytest.raises(CsvProblem, match="at most 2 contacts"):
        read_contacts(text, max_rows=2)
