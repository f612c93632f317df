"""v2 endpoints: contacts (docs/api-v2.md, "Contacts")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from simgate.api.v2.envelope import MAX_KEY, Call, endpoint, object_id
from simgate.domain import contact_rules, cursors
from simgate.domain.contact_search import MODES
from simgate.errors import Invalid
from simgate.services import contact_book
from simgate.services.contact_book import SORTS, Contact, sort_value

MAX_SEARCH_TEXT = 200
MAX_TAGS_PER_CALL = 100
# Contacts and lists have 32-bit ids (INTEGER on PostgreSQL): a larger one
# names nothing, and must not reach the store (out of range there).
MAX_ROW_ID = MAX_KEY


def row_id(call: Call, name: str) -> int:
    """The id in field `name`; NOT_FOUND when no row can have it."""
    return call.params.id(name)


def contact_object(call: Call, contact: Contact) -> dict[str, Any]:
    """The shared contact shape: every text a string, `tags` strings (the
    client's human output crashes on anything else)."""
    return {
        "id": object_id(contact.id),
        "id_contact": object_id(contact.id),
        "firstname": contact.firstname,
        "lastname": contact.lastname,
        "phone_number": contact.phone_number,
        "email": contact.email,
        "address": contact.address,
        "pro": contact.pro,
        "tags": list(contact.tags),
        "custom": dict(contact.custom),
        "created": call.local(contact.created_at),
        "updated": call.local(contact.updated_at),
    }


@endpoint("contacts")
async def list_contacts(call: Call) -> dict[str, Any]:
    """A page of contacts: `search`, `sort` (SORTS), `order`, `cursor`, `limit`."""
    params = call.params
    limit = params.limit(10)
    search = params.text("search", max_length=MAX_SEARCH_TEXT)
    sort = params.choice("sort", tuple(SORTS), "date_add")
    if sort == "created":
        sort = "date_add"  # one key, two names
    # Newest first by default for dates, A to Z for names and numbers.
    order = params.choice("order", ("asc", "desc"), "desc" if sort == "date_add" else "asc")
    after = _after(params.cursor(3), sort, order)
    rows, more = await call.sync(
        contact_book.page,
        call.runtime.engine,
        call.account,
        sort=sort,
        descending=order == "desc",
        after=after,
        limit=limit,
        search=search,
    )
    next_cursor = None
    if more and rows:
        last = rows[-1]
        value = sort_value(last, sort)
        if isinstance(value, datetime):
            value = value.isoformat()
        next_cursor = cursors.encode(f"{sort}.{order}", value, last.id)
    return {
        "contacts": [contact_object(call, row) for row in rows],
        "next_cursor": next_cursor,
        "has_more": more,
    }


def _after(values: list[Any] | None, sort: str, order: str) -> tuple[Any, int] | None:
    """The keyset a cursor carries; it must come from a page of the same sort."""
    if values is None:
        return None
    kind, value, last_id = values
    if kind != f"{sort}.{order}":
        raise Invalid("cursor", "this cursor belongs to another sort or order")
    if not isinstance(last_id, int) or not 0 <= last_id <= MAX_ROW_ID:
        raise Invalid("cursor", "not a cursor this server gave")
    if sort == "date_add":
        try:
            value = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            value = None
    if not isinstance(value, str | datetime):
        raise Invalid("cursor", "not a cursor this server gave")
    return value, last_id


@endpoint("contacts/search")
async def search(call: Call) -> dict[str, Any]:
    params = call.params
    text = params.text("name", required=True, max_length=MAX_SEARCH_TEXT).strip()
    mode = params.choice("mode", MODES, "smart")
    fuzzy = params.boolean("fuzzy", default=True)
    limit = params.limit(5)
    found = await call.sync(
        contact_book.search, call.runtime.engine, call.account, text, mode, fuzzy, limit
    )
    return {
        "contacts": [
            {**contact_object(call, hit.contact), "score": hit.score, "match_type": hit.match_type}
            for hit in found
        ]
    }


@endpoint("find_contact")
async def find_contact(call: Call) -> dict[str, Any]:
    raw = call.params.text("phone_number", required=True, max_length=64).strip()
    contact = await call.sync(contact_book.find_by_phone, call.runtime.engine, call.account, raw)
    found = [] if contact is None else [contact]
    return {
        "contacts": [
            {**contact_object(call, row), "score": 100, "match_type": "phone"} for row in found
        ]
    }


@endpoint("contacts/detail")
async def detail(call: Call) -> dict[str, Any]:
    contact_id = row_id(call, "id_contact")
    contact, activity = await call.sync(
        contact_book.detail, call.runtime.engine, call.account, contact_id
    )
    return {
        "contact": contact_object(call, contact),
        "lists": [
            {"id": object_id(list_id), "list_id": object_id(list_id), "name": name}
            for list_id, name in activity.lists
        ],
        "message_counts": {
            "outbound": activity.sent,
            "inbound": activity.received,
            "last_outbound": call.local(activity.last_sent),
            "last_inbound": call.local(activity.last_received),
        },
    }


@endpoint("contacts/switch_pro")
async def switch_pro(call: Call) -> dict[str, Any]:
    contact_id = row_id(call, "id_contact")
    pro = call.params.boolean("pro")
    contact = await call.sync(
        contact_book.switch_pro,
        call.runtime.engine,
        call.account,
        contact_id,
        pro,
        call.runtime.clock,
    )
    return {"id_contact": object_id(contact.id), "pro": contact.pro}


@endpoint("contacts/delete")
async def delete(call: Call) -> dict[str, Any]:
    contact_id = row_id(call, "id_contact")
    await call.sync(
        contact_book.delete, call.runtime.engine, call.account, contact_id, call.runtime.clock
    )
    return {"id_contact": object_id(contact_id), "deleted": True}


@endpoint("contacts/tags")
async def tags(call: Call) -> dict[str, Any]:
    params = call.params
    contact_id = row_id(call, "id_contact")
    add = _tags(params.strings("add", max_items=MAX_TAGS_PER_CALL, max_length=200), "add")
    remove = _tags(params.strings("remove", max_items=MAX_TAGS_PER_CALL, max_length=200), "remove")
    change = await call.sync(
        contact_book.change_tags,
        call.runtime.engine,
        call.account,
        contact_id,
        add,
        remove,
        call.runtime.clock,
    )
    return {
        "id_contact": object_id(contact_id),
        "tags": change.tags,
        "added": change.added,
        "removed": change.removed,
    }


def _tags(raw: list[str], field: str) -> list[str]:
    try:
        return contact_rules.clean_tags(raw)
    except contact_rules.BadTag as error:
        raise Invalid(field, f"{field}: {error}") from None


@endpoint("contacts/custom_fields")
async def custom_fields(call: Call) -> dict[str, Any]:
    fields = await call.sync(contact_book.custom_fields, call.runtime.engine, call.account)
    return {
        "custom_fields": [
            {
                "id": object_id(field.id),
                "name": field.name,
                "label": field.label,
                "contacts": field.contacts,
                "created": call.local(field.created_at),
            }
            for field in fields
        ]
    }
