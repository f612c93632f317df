"""`simgate send` and `simgate contacts import` as real processes against the live server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from simgate.store.tables import contacts, messages
from tests.support.servers import LiveServer, simgate


def env_for(server: LiveServer, account: dict[str, Any]) -> dict[str, str]:
    return {
        "SIMGATE_URL": server.url,
        "SIMGATE_LOGIN": account["login"],
        "SIMGATE_ACCESS_KEY": account["accessKey"],
    }


def test_send(server: LiveServer, account: dict[str, Any]) -> None:
    env = env_for(server, account)
    done = simgate(
        "send",
        "--to",
        "+33612345678,0698765432",
        "--to",
        "+33INVALID",
        "--text",
        "Soldes -50% & plus 🚀 [link]",
        "--url",
        "https://example.com/sale",
        "--priority",
        "5",
        "--at",
        "2099-01-01 09:00:00",
        settings=server.settings,
        env=env,
    )
    assert done.returncode == 1, done.stderr  # one number was refused
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["sent", "sent", "failed"]
    assert "+33698765432" in lines[1] and "#001 invalid phone number" in lines[2]
    assert account["accessKey"] not in done.stdout + done.stderr
    with server.engine.connect() as conn:
        rows = conn.execute(select(messages)).all()
    assert len(rows) == 2
    assert {r.state for r in rows} == {"scheduled"} and {r.priority for r in rows} == {5}
    assert all(r.url == "https://example.com/sale" and "🚀" in r.message for r in rows)

    as_json = simgate(
        "send", "--to", "+33612345678", "--text", "hi", "--json", settings=server.settings, env=env
    )
    assert as_json.returncode == 0, as_json.stderr
    answer = json.loads(as_json.stdout)
    assert answer[0]["sent"] == 1 and answer[0]["user"] == account["login"]


def test_send_connection_flags_and_errors(server: LiveServer, account: dict[str, Any]) -> None:
    send = ["send", "--to", "+33612345678", "--text", "x"]
    send += ["--base-url", server.url, "--login", account["login"]]
    wrong = simgate(*send, "--access-key", "nope", settings=server.settings)
    assert wrong.returncode == 1 and "#102" in wrong.stderr and "nope" not in wrong.stderr
    missing = simgate(*send, settings=server.settings)
    assert missing.returncode == 2 and "--access-key" in missing.stderr
    ok = simgate(*send, "--access-key", account["accessKey"], settings=server.settings)
    assert ok.returncode == 0 and ok.stdout.startswith("sent    +33612345678  id=")


def test_contacts_import(server: LiveServer, account: dict[str, Any], tmp_path: Path) -> None:
    csv_file = tmp_path / "contacts.csv"
    # As Excel in a French locale writes it: BOM, semicolons, its own header names.
    csv_file.write_text(
        "\ufeffFirst Name;Last-Name;Phone;Address;E-mail;notes\n"
        "Zoé;Dupont;+33612345678;1 rue de la Paix;zoe@example.com;vip\n"
        "Bad;Number;+33INVALID;;;\n"
        ";;;;;\n"
        "No;Phone;;;;\n"
        "Bad;Mail;0698765432;;not-an-email;\n"
        "Ann;Lee;+33 6 11 22 33 44;;;\n",
        encoding="utf-8",
    )
    done = simgate(
        "contacts",
        "import",
        str(csv_file),
        "--batch-size",
        "2",
        settings=server.settings,
        env=env_for(server, account),
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        "imported 3 of 5 contacts, 2 failed",
        "failures by code:",
        "  #001 invalid phone number: 1 (line 3)",
        "  #002 empty phone number: 1 (line 5)",
        "warnings:",
        "  #004 invalid e-mail (a warning: the contact is stored): 1 (line 6)",
    ]
    with server.engine.connect() as conn:
        rows = {r.phone_number: r for r in conn.execute(select(contacts))}
    assert sorted(rows) == ["+33611223344", "+33612345678", "+33698765432"]
    zoe = rows["+33612345678"]
    assert (zoe.firstname, zoe.lastname, zoe.address) == ("Zoé", "Dupont", "1 rue de la Paix")

    no_phone = tmp_path / "no_phone.csv"
    no_phone.write_text("name,email\nA,a@b.c\n")
    refused = simgate(
        "contacts", "import", str(no_phone), settings=server.settings, env=env_for(server, account)
    )
    assert refused.returncode == 2 and "no phone_number column" in refused.stderr
