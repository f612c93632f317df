"""Upsert contacts per (account, E.164 number).

The reference answers success items with `firstname, lastname, phonenumber`
and failed items with `first_name, last_name, phone_number`; clients parse
both, so the asymmetry is kept on purpose. Codes: #001 invalid phone number,
#002 empty phone number, #003 no `phone_number` field, #004 invalid e-mail (a
warning: the contact is still stored, and the success item carries it), #005 a
field longer than MAX_FIELD characters or holding a NUL character.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.domain.numbers import InvalidNumber, to_e164
from simgate.services.accounts import Account, authenticate
from simgate.store import contacts as store
from simgate.store.db import run_write, run_write_async

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_FIELD = 500  # characters in a name, address or e-mail


def _unfit(*values: str) -> bool:
    """A value no store keeps as sent (NUL: PostgreSQL refuses it) or too long."""
    return any(len(value) > MAX_FIELD or "\x00" in value for value in values)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def upsert_contacts(
    engine: Engine, account: Account, items: list[Any], clock: Clock = SYSTEM_CLOCK
) -> list[dict[str, Any]]:
    """Upsert `items` for `account`; the answers in the reference's shape, in order."""
    answers, rows = _judge(account, items, clock.now())
    if rows:
        run_write(engine, lambda conn: store.upsert(conn, rows))
    return answers


async def upsert_with_key(
    engine: Engine,
    login: object,
    access_key: object,
    items: list[Any],
    clock: Clock = SYSTEM_CLOCK,
) -> list[dict[str, Any]]:
    """The API's path: authenticate and upsert in one transaction. Raises AuthError."""

    def work(conn: Connection) -> list[dict[str, Any]]:
        answers, rows = _judge(authenticate(conn, login, access_key), items, clock.now())
        if rows:
            store.upsert(conn, rows)
        return answers

    return await run_write_async(engine, work)


def _judge(
    account: Account, items: list[Any], now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(one answer per item in order, the rows to upsert, stamped `now`)."""
    answers: list[dict[str, Any]] = []
    rows: dict[str, dict[str, Any]] = {}  # last one wins within a batch
    for item in items:
        answer = _judge_one(item if isinstance(item, dict) else {}, account.region)
        answers.append(answer)
        if answer["result"] == "success":
            number = answer["phonenumber"]
            rows[number] = {
                "account_id": account.id,
                "phone_number": number,
                "firstname": answer["firstname"],
                "lastname": answer["lastname"],
                "address": answer["adress"],
                "email": answer["email"],
                "created_at": now,
                "updated_at": now,
            }
    return answers, list(rows.values())


def _judge_one(item: dict[str, Any], region: str) -> dict[str, Any]:
    """One contact's answer, in the reference's success or failed shape."""
    # Read both spellings the reference uses (its failed items say first_name).
    first = _text(item.get("firstname", item.get("first_name")))
    last = _text(item.get("lastname", item.get("last_name")))
    address, email = _text(item.get("adress", item.get("address"))), _text(item.get("email"))
    raw = item.get("phone_number", item.get("phonenumber"))
    errors: list[str] = []
    number = ""
    if _unfit(first, last, address, email):
        errors.append("#005")
    if "phone_number" not in item and "phonenumber" not in item:
        errors.append("#003")
    elif raw is None or not _text(raw).strip():
        errors.append("#002")
    else:
        try:
            number = to_e164(_text(raw), region)
        except InvalidNumber:
            errors.append("#001")
    if errors:
        return {
            "first_name": first,
            "last_name": last,
            "phone_number": raw if raw is not None else "",
            "adress": address,
            "email": email,
            "result": "failed",
            "errors": errors,
        }
    answer: dict[str, Any] = {
        "firstname": first,
        "lastname": last,
        "phonenumber": number,
        "adress": address,
        "email": email,
        "result": "success",
    }
    if email and not EMAIL_RE.match(email):
        answer["errors"] = ["#004"]  # a warning: the contact is still stored
    return answer
