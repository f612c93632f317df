"""Rows the campaign and template tests need from other areas (contacts with
custom fields, soft deletes, lists), written straight into the store: those
areas' APIs are built beside this one."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from simgate.domain.dates import utcnow
from simgate.domain.search import search_name
from simgate.store.tables import contact_lists, contacts, list_members, messages


def add_contact(
    engine: Engine,
    account_id: int,
    phone_number: str,
    firstname: str = "",
    lastname: str = "",
    email: str = "",
    custom: dict[str, str] | None = None,
    deleted: bool = False,
) -> int:
    now = utcnow()
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(contacts)
                .values(
                    account_id=account_id,
                    phone_number=phone_number,
                    firstname=firstname,
                    lastname=lastname,
                    address="",
                    email=email,
                    created_at=now,
                    updated_at=now,
                    custom=json.dumps(custom) if custom else None,
                    search_name=search_name(firstname, lastname),
                    deleted_at=now if deleted else None,
                )
                .returning(contacts.c.id)
            ).scalar_one()
        )


def add_list(engine: Engine, account_id: int, name: str, contact_ids: list[int]) -> int:
    now = utcnow()
    with engine.begin() as conn:
        list_id = int(
            conn.execute(
                insert(contact_lists)
                .values(account_id=account_id, name=name, created_at=now, updated_at=now)
                .returning(contact_lists.c.id)
            ).scalar_one()
        )
        if contact_ids:
            conn.execute(
                insert(list_members),
                [{"list_id": list_id, "contact_id": c, "added_at": now} for c in contact_ids],
            )
    return list_id


def campaign_messages(engine: Engine, campaign_id: int) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(
                    messages.c.id_sms_api,
                    messages.c.phone_number,
                    messages.c.message,
                    messages.c.state,
                    messages.c.priority,
                    messages.c.fail_reason,
                    messages.c.send_at,
                ).where(messages.c.campaign_id == campaign_id)
            )
        )


def message_by_sms_id(engine: Engine, sms_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(messages).where(messages.c.id_sms_api == sms_id)).one()


def set_state(engine: Engine, campaign_id: int, state: str, at: datetime | None = None) -> None:
    """Move all of a campaign's messages to `state` (as if phones had reported)."""
    at = at or utcnow()
    values: dict[str, Any] = {"state": state}
    if state in ("sent", "received"):
        values["sent_at"] = at
    if state == "received":
        values["delivered_at"] = at
    if state == "failed":
        values["failed_at"] = at
    with engine.begin() as conn:
        conn.execute(update(messages).where(messages.c.campaign_id == campaign_id).values(**values))
