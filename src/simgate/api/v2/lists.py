"""v2 endpoints: contact lists (docs/api-v2.md, "Lists")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from simgate.api.v2.contacts import MAX_ROW_ID, contact_object, row_id
from simgate.api.v2.envelope import MAX_NAME_FIELD, Call, endpoint, object_id
from simgate.domain import cursors
from simgate.errors import Invalid
from simgate.services import contact_lists
from simgate.services.contact_lists import ContactList, MemberChange

MAX_IDS_PER_CALL = 1000


def list_object(call: Call, found: ContactList) -> dict[str, Any]:
    return {
        "id": object_id(found.id),
        "list_id": object_id(found.id),
        "name": found.name,
        "description": found.description,
        "contacts": found.contacts,
        "created": call.local(found.created_at),
        "updated": call.local(found.updated_at),
    }


@endpoint("lists")
async def list_lists(call: Call) -> dict[str, Any]:
    """Newest first; the client sends no `limit` (default 100) nor `cursor`."""
    params = call.params
    limit = params.limit(100)
    after = _after(params.cursor(2))
    rows, more = await call.sync(
        contact_lists.page, call.runtime.engine, call.account, after, limit
    )
    last = rows[-1] if rows and more else None
    return {
        "lists": [list_object(call, row) for row in rows],
        "next_cursor": None
        if last is None
        else cursors.encode(last.created_at.isoformat(), last.id),
        "has_more": more,
    }


def _after(values: list[Any] | None) -> tuple[datetime, int] | None:
    if values is None:
        return None
    moment, last_id = values
    try:
        when = datetime.fromisoformat(moment) if isinstance(moment, str) else None
    except ValueError:
        when = None
    if when is None or not isinstance(last_id, int) or not 0 <= last_id <= MAX_ROW_ID:
        raise Invalid("cursor", "not a cursor this server gave")
    return when, last_id


@endpoint("lists/create")
async def create(call: Call) -> dict[str, Any]:
    name = call.params.name("name", required=True)
    description = call.params.text("description").strip()
    created = await call.sync(
        contact_lists.create,
        call.runtime.engine,
        call.account,
        name,
        description,
        call.runtime.clock,
    )
    return {"list_id": object_id(created.id), "list": list_object(call, created)}


@endpoint("lists/detail")
async def detail(call: Call) -> dict[str, Any]:
    list_id = row_id(call, "list_id")
    limit = call.params.limit(10)
    found, members = await call.sync(
        contact_lists.detail, call.runtime.engine, call.account, list_id, limit
    )
    return {
        "list": list_object(call, found),
        "contacts": [contact_object(call, member) for member in members],
        "has_more": found.contacts > len(members),
    }


@endpoint("lists/update")
async def update(call: Call) -> dict[str, Any]:
    """`""` (what the client sends for an option not given) keeps a field."""
    list_id = row_id(call, "list_id")
    name = call.params.text("name", max_length=MAX_NAME_FIELD).strip()
    description = call.params.text("description").strip()
    found = await call.sync(
        contact_lists.update,
        call.runtime.engine,
        call.account,
        list_id,
        name,
        description,
        call.runtime.clock,
    )
    return {"list_id": object_id(found.id), "list": list_object(call, found)}


@endpoint("lists/delete")
async def delete(call: Call) -> dict[str, Any]:
    list_id = row_id(call, "list_id")
    await call.sync(contact_lists.delete, call.runtime.engine, call.account, list_id)
    return {"list_id": object_id(list_id), "deleted": True}


def _contact_ids(call: Call) -> tuple[list[int], list[str]]:
    """(ids that may exist, ids given that cannot: reported as not found)."""
    raw = call.params.array("contact_ids", max_items=MAX_IDS_PER_CALL, required=True)
    ids: list[int] = []
    bad: list[str] = []
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise Invalid("contact_ids", "contact_ids must be an array of id strings")
        text = str(item).strip()
        if text.isascii() and text.isdigit() and len(text) <= 18 and 0 < int(text) <= MAX_ROW_ID:
            ids.append(int(text))
        else:
            bad.append(str(item)[:64])
    return ids, bad


def _member_answer(list_id: int, change: MemberChange, bad: list[str], verb: str) -> dict[str, Any]:
    return {
        "list_id": object_id(list_id),
        verb: [object_id(cid) for cid in change.changed],
        "skipped": [object_id(cid) for cid in change.skipped],
        "not_found": [object_id(cid) for cid in change.not_found] + bad,
        "contacts": change.contacts,
    }


@endpoint("lists/contacts/add")
async def add_contacts(call: Call) -> dict[str, Any]:
    list_id = row_id(call, "list_id")
    ids, bad = _contact_ids(call)
    change = await call.sync(
        contact_lists.add_members,
        call.runtime.engine,
        call.account,
        list_id,
        ids,
        call.runtime.clock,
    )
    return _member_answer(list_id, change, bad, "added")


@endpoint("lists/contacts/remove")
async def remove_contacts(call: Call) -> dict[str, Any]:
    list_id = row_id(call, "list_id")
    ids, bad = _contact_ids(call)
    change = await call.sync(
        contact_lists.remove_members,
        call.runtime.engine,
        call.account,
        list_id,
        ids,
        call.runtime.clock,
    )
    return _member_answer(list_id, change, bad, "removed")


@endpoint("lists/contacts/addall")
async def add_all(call: Call) -> dict[str, Any]:
    list_id = row_id(call, "list_id")
    result = await call.sync(
        contact_lists.add_all, call.runtime.engine, call.account, list_id, call.runtime.clock
    )
    return {
        "list_id": object_id(list_id),
        "added": result.added,
        "skipped": result.skipped,
        "total": result.total,
    }
