"""`simgate optouts ...` through click's runner, against the test store."""

from __future__ import annotations

import json
from pathlib import Path

from simgate.config import Settings
from simgate.services.accounts import create_account
from simgate.store.db import make_engine
from tests.support.cli import run_cli as run

EMAIL = "optouts@example.com"




def test_add_list_remove_import_export_history(settings: Settings, tmp_path: Path) -> None:
    engine = make_engine(settings)
    create_account(engine, EMAIL)
    create_account(engine, "someone@example.com")
    engine.dispose()

    added = run("optouts", "add", EMAIL, "06 12 34 56 78", "+33612345679", "--note", "phoned",
                settings=settings)  # fmt: skip
    assert added.exit_code == 0, added.output
    assert added.stdout.splitlines() == ["added\t+33612345678", "added\t+33612345679"]
    again = run("optouts", "add", EMAIL, "0612345678", settings=settings)
    assert again.stdout.strip() == "already on the list\t+33612345678"

    bad = run("optouts", "add", EMAIL, "hello", settings=settings)
    assert bad.exit_code == 1 and "not a valid phone number" in bad.stderr
    nobody = run("optouts", "list", "nobody@example.com", settings=settings)
    assert nobody.exit_code == 1 and "no account" in nobody.stderr

    listed = run("optouts", "list", EMAIL, "--json", settings=settings)
    items = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {i["phone_number"] for i in items} == {"+33612345678", "+33612345679"}
    assert all(i["reason"] == "manual" and i["detail"] == "phoned" for i in items)
    assert run("optouts", "list", "someone@example.com", settings=settings).stdout == ""

    removed = run("optouts", "remove", EMAIL, "+33612345679", "+33600000000", settings=settings)
    assert removed.stdout.splitlines() == ["removed\t+33612345679", "not on the list\t+33600000000"]

    imported = run("optouts", "import", EMAIL, "-", "--note", "shop", settings=settings,
                   stdin="number\n0611111111\nnonsense\n+33612345678\n")  # fmt: skip
    assert imported.exit_code == 0, imported.output
    assert "imported 1, already on the list 1, refused 1" in imported.stdout
    assert "line 3: 'nonsense'" in imported.stderr

    out = tmp_path / "optouts.csv"
    exported = run("optouts", "export", EMAIL, "--output", str(out), settings=settings)
    assert exported.exit_code == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "number,reason,detail,since" and len(lines) == 3
    assert any(line.startswith("+33611111111,imported,shop,") for line in lines)
    file_import = tmp_path / "again.txt"
    file_import.write_text("+33622222222\n")
    assert (
        "imported 1" in run("optouts", "import", EMAIL, str(file_import), settings=settings).stdout
    )

    history = run("optouts", "history", EMAIL, "0612345679", settings=settings)
    lines = history.stdout.splitlines()
    assert lines[0] == "+33612345679: not on the list"
    assert [line.split("\t")[1:3] for line in lines[1:]] == [
        ["remove", "manual"],
        ["add", "manual"],
    ]
