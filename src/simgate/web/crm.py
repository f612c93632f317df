"""The CRM pages: contact lists, custom fields, and a contact's tags, pro flag,
custom values and lists. They call the same services as the v2 API
(services/contact_book, services/contact_lists)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from simgate.domain import contact_rules
from simgate.errors import Invalid, NotFound
from simgate.services import contact_book, contact_lists
from simgate.services.contact_lists import MAX_MEMBERS_SHOWN
from simgate.web import common
from simgate.web.common import Refused, Signed, signed_in

router = APIRouter()
Account = Annotated[Signed, Depends(signed_in)]

NOTICES = {
    "created": "List created.",
    "renamed": "List saved.",
    "deleted": "List deleted.",
    "added": "Contact added to the list.",
    "already": "That contact is already in the list.",
    "removed": "Contact removed from the list.",
    "field": "Custom field added.",
    "field-deleted": "Custom field deleted; the values stay with the contacts, unused.",
}
NO_LIST = "There is no such list in this account."
NO_CONTACT = "There is no such contact in this account."


def notice(request: Request) -> str:
    return NOTICES.get(request.query_params.get("done", ""), "")


# --- lists ---------------------------------------------------------------------------


async def _lists_page(
    request: Request, signed: Signed, status: int = 200, errors: dict[str, str] | None = None
) -> Response:
    rows, more = await run_in_threadpool(
        contact_lists.page, common.runtime(request).engine, signed.account, None, 500
    )
    return common.render(
        request,
        "lists.html",
        signed,
        status_code=status,
        lists=rows,
        more=more,
        errors=errors or {},
        notice=notice(request),
    )


@router.get("/lists")
async def lists(request: Request, signed: Account) -> Response:
    return await _lists_page(request, signed)


@router.post("/lists")
async def create_list(request: Request, signed: Account) -> Response:
    form = await common.form_of(request)
    name = common.field(form, "name", 200).strip()
    if not name:
        return await _lists_page(request, signed, 400, {"name": "Give the list a name."})
    runtime = common.runtime(request)
    created = await run_in_threadpool(
        contact_lists.create,
        runtime.engine,
        signed.account,
        name,
        common.field(form, "description", 5000).strip(),
        runtime.clock,
    )
    return common.redirect(request, f"/app/lists/{created.id}?done=created")


async def _list_page(
    request: Request,
    signed: Signed,
    list_id: int,
    status: int = 200,
    errors: dict[str, str] | None = None,
    added_all: contact_lists.AddAll | None = None,
) -> Response:
    try:
        found, members = await run_in_threadpool(
            contact_lists.detail,
            common.runtime(request).engine,
            signed.account,
            list_id,
            MAX_MEMBERS_SHOWN,
        )
    except NotFound:
        raise Refused(404, NO_LIST) from None
    return common.render(
        request,
        "list.html",
        signed,
        status_code=status,
        found=found,
        members=members,
        errors=errors or {},
        added_all=added_all,
        notice=notice(request),
    )


@router.get("/lists/{list_id:id32}")
async def show_list(request: Request, list_id: int, signed: Account) -> Response:
    return await _list_page(request, signed, list_id)


@router.post("/lists/{list_id:id32}")
async def rename_list(request: Request, list_id: int, signed: Account) -> Response:
    form = await common.form_of(request)
    runtime = common.runtime(request)
    try:
        await run_in_threadpool(
            contact_lists.update,
            runtime.engine,
            signed.account,
            list_id,
            common.field(form, "name", 200).strip(),
            common.field(form, "description", 5000).strip(),
            runtime.clock,
        )
    except NotFound:
        raise Refused(404, NO_LIST) from None
    return common.redirect(request, f"/app/lists/{list_id}?done=renamed")


@router.post("/lists/{list_id:id32}/delete")
async def delete_list(request: Request, list_id: int, signed: Account) -> Response:
    try:
        await run_in_threadpool(
            contact_lists.delete, common.runtime(request).engine, signed.account, list_id
        )
    except NotFound:
        raise Refused(404, NO_LIST) from None
    return common.redirect(request, "/app/lists?done=deleted")


@router.post("/lists/{list_id:id32}/add")
async def add_member(request: Request, list_id: int, signed: Account) -> Response:
    """Add the contact with the number typed (any format the region reads)."""
    form = await common.form_of(request)
    runtime = common.runtime(request)
    number = common.field(form, "phone_number", 64).strip()
    try:
        contact = await run_in_threadpool(
            contact_book.find_by_phone, runtime.engine, signed.account, number
        )
    except Invalid:
        contact = None
    if contact is None:
        message = "No contact has this number." if number else "Type a contact's number."
        return await _list_page(request, signed, list_id, 400, {"phone_number": message})
    try:
        change = await run_in_threadpool(
            contact_lists.add_members,
            runtime.engine,
            signed.account,
            list_id,
            [contact.id],
            runtime.clock,
        )
    except NotFound:
        raise Refused(404, NO_LIST) from None
    done = "added" if change.changed else "already"
    return common.redirect(request, f"/app/lists/{list_id}?done={done}")


@router.post("/lists/{list_id:id32}/remove/{contact_id:id32}")
async def remove_member(
    request: Request, list_id: int, contact_id: int, signed: Account
) -> Response:
    runtime = common.runtime(request)
    try:
        await run_in_threadpool(
            contact_lists.remove_members,
            runtime.engine,
            signed.account,
            list_id,
            [contact_id],
            runtime.clock,
        )
    except NotFound:
        raise Refused(404, NO_LIST) from None
    return common.redirect(request, f"/app/lists/{list_id}?done=removed")


@router.post("/lists/{list_id:id32}/addall")
async def add_all(request: Request, list_id: int, signed: Account) -> Response:
    runtime = common.runtime(request)
    try:
        result = await run_in_threadpool(
            contact_lists.add_all, runtime.engine, signed.account, list_id, runtime.clock
        )
    except NotFound:
        raise Refused(404, NO_LIST) from None
    return await _list_page(request, signed, list_id, added_all=result)


# --- custom fields ---------------------------------------------------------------------


async def _fields_page(
    request: Request, signed: Signed, status: int = 200, errors: dict[str, str] | None = None
) -> Response:
    fields = await run_in_threadpool(
        contact_book.custom_fields, common.runtime(request).engine, signed.account
    )
    return common.render(
        request,
        "custom_fields.html",
        signed,
        status_code=status,
        fields=fields,
        errors=errors or {},
        notice=notice(request),
    )


@router.get("/contacts/fields")
async def custom_fields(request: Request, signed: Account) -> Response:
    return await _fields_page(request, signed)


@router.post("/contacts/fields")
async def define_field(request: Request, signed: Account) -> Response:
    form = await common.form_of(request)
    runtime = common.runtime(request)
    try:
        await run_in_threadpool(
            contact_book.define_custom_field,
            runtime.engine,
            signed.account,
            common.field(form, "name", 100),
            common.field(form, "label", 200),
            runtime.clock,
        )
    except Invalid as error:
        return await _fields_page(request, signed, 400, {"name": str(error)})
    return common.redirect(request, "/app/contacts/fields?done=field")


@router.post("/contacts/fields/{field_id:id32}/delete")
async def delete_field(request: Request, field_id: int, signed: Account) -> Response:
    try:
        await run_in_threadpool(
            contact_book.delete_custom_field,
            common.runtime(request).engine,
            signed.account,
            field_id,
        )
    except NotFound:
        raise Refused(404, "There is no such custom field in this account.") from None
    return common.redirect(request, "/app/contacts/fields?done=field-deleted")


# --- one contact's CRM parts (the edit page shows them) -----------------------------------


async def contact_extras(request: Request, signed: Signed, contact_id: int) -> dict[str, Any]:
    """What the contact edit page shows beside the form: tags, pro flag,
    custom values, lists. Refused (404) when the contact is not live."""
    engine = common.runtime(request).engine

    def load() -> dict[str, Any]:
        contact, activity = contact_book.detail(engine, signed.account, contact_id)
        # Names only: the lists' member counts and the fields' use counts
        # read every membership and every contact, and this page shows neither.
        all_lists = contact_lists.choices(engine, signed.account, 500)
        member_of = {list_id for list_id, _ in activity.lists}
        return {
            "contact": contact,
            "activity": activity,
            "fields": contact_book.field_names(engine, signed.account),
            "other_lists": [found for found in all_lists if found.id not in member_of],
        }

    try:
        return await run_in_threadpool(load)
    except NotFound:
        raise Refused(404, NO_CONTACT) from None


def _back(contact_id: int, done: str) -> str:
    return f"/app/contacts/{contact_id}?done={done}"


@router.post("/contacts/{contact_id:id32}/pro")
async def switch_pro(request: Request, contact_id: int, signed: Account) -> Response:
    form = await common.form_of(request)
    runtime = common.runtime(request)
    try:
        await run_in_threadpool(
            contact_book.switch_pro,
            runtime.engine,
            signed.account,
            contact_id,
            common.field(form, "pro", 5) == "1",
            runtime.clock,
        )
    except NotFound:
        raise Refused(404, NO_CONTACT) from None
    return common.redirect(request, _back(contact_id, "saved"))


@router.post("/contacts/{contact_id:id32}/tags")
async def change_tags(request: Request, contact_id: int, signed: Account) -> Response:
    """`add` holds tags separated by commas; `remove` one tag."""
    form = await common.form_of(request)
    runtime = common.runtime(request)
    try:
        add = contact_rules.clean_tags(
            [t for t in common.field(form, "add", 2000).split(",") if t.strip()]
        )
        remove = contact_rules.clean_tags(
            [t for t in [common.field(form, "remove", 200)] if t.strip()]
        )
    except contact_rules.BadTag as error:
        raise Refused(400, f"That tag cannot be used: {error}.") from None
    try:
        await run_in_threadpool(
            contact_book.change_tags,
            runtime.engine,
            signed.account,
            contact_id,
            add,
            remove,
            runtime.clock,
        )
    except NotFound:
        raise Refused(404, NO_CONTACT) from None
    except Invalid as error:
        raise Refused(400, str(error)) from None
    return common.redirect(request, _back(contact_id, "saved"))


@router.post("/contacts/{contact_id:id32}/custom")
async def set_custom(request: Request, contact_id: int, signed: Account) -> Response:
    form = await common.form_of(request)
    runtime = common.runtime(request)
    values = {
        key.removeprefix("custom."): common.field(form, key, contact_rules.MAX_CUSTOM_VALUE)
        for key in form.keys()
        if key.startswith("custom.")
    }
    try:
        await run_in_threadpool(
            contact_book.set_custom_values,
            runtime.engine,
            signed.account,
            contact_id,
            values,
            runtime.clock,
        )
    except NotFound:
        raise Refused(404, NO_CONTACT) from None
    except Invalid as error:
        raise Refused(400, str(error)) from None
    return common.redirect(request, _back(contact_id, "saved"))


@router.post("/contacts/{contact_id:id32}/lists")
async def join_list(request: Request, contact_id: int, signed: Account) -> Response:
    form = await common.form_of(request)
    runtime = common.runtime(request)
    raw = common.field(form, "list_id", 20)
    if not raw.isascii() or not raw.isdigit():
        raise Refused(400, "Choose a list.")
    if int(raw) > 2**31 - 1:  # no list has it, and PostgreSQL's INTEGER refuses it
        raise Refused(404, NO_LIST)
    try:
        change = await run_in_threadpool(
            contact_lists.add_members,
            runtime.engine,
            signed.account,
            int(raw),
            [contact_id],
            runtime.clock,
        )
    except NotFound:
        raise Refused(404, NO_LIST) from None
    if change.not_found:
        raise Refused(404, NO_CONTACT)
    return common.redirect(request, _back(contact_id, "saved"))
