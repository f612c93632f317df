"""Contacts (list, search, edit, delete, CSV import/export) and the call log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import Response

from simgate.errors import NotFound
from simgate.services import contact_book, dashboard
from simgate.web import common, crm
from simgate.web.common import Refused, Signed, signed_in

router = APIRouter()
Account = Annotated[Signed, Depends(signed_in)]

NOTICES = {
    "deleted": "Contact deleted.",
    "saved": "Contact saved.",
    "qualified": "Qualification saved; the qualification webhook is on its way.",
}


def notice(request: Request) -> str:
    return NOTICES.get(request.query_params.get("done", ""), "")


async def _contacts_page(
    request: Request, signed: Signed, status: int = 200, **extra: object
) -> Response:
    search = request.query_params.get("q", "")[:200]
    page = await run_in_threadpool(
        dashboard.contacts.list_contacts,
        common.runtime(request).engine,
        signed.account.id,
        search,
        common.page_link(request),
    )
    tags = await run_in_threadpool(
        contact_book.tags_for, common.runtime(request).engine, [row.id for row in page.rows]
    )
    context: dict[str, object] = {
        "import_errors": {},
        "imported": None,
        "notice": notice(request),
        "tags": tags,
    }
    context.update(extra)
    return common.render(
        request, "contacts.html", signed, status_code=status, page=page, search=search, **context
    )


@router.get("/contacts")
async def contacts(request: Request, signed: Account) -> Response:
    return await _contacts_page(request, signed)


@router.get("/contacts/export.csv")
async def export(request: Request, signed: Account) -> Response:
    text = await run_in_threadpool(
        dashboard.contacts.export_contacts, common.runtime(request).engine, signed.account.id
    )
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="contacts.csv"'},
    )


@router.post("/contacts/import")
async def import_csv(request: Request, signed: Account) -> Response:
    form = await common.form_of(request)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _contacts_page(
            request, signed, 400, import_errors={"file": "Choose a CSV file to import."}
        )
    if upload.size is not None and upload.size > common.MAX_UPLOAD:
        return await _contacts_page(
            request, signed, 400, import_errors={"file": "The file is over 5 MB: split it."}
        )
    raw = await upload.read(common.MAX_UPLOAD + 1)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # what spreadsheet exports often are
    try:
        runtime = common.runtime(request)
        result = await run_in_threadpool(
            dashboard.contacts.import_contacts, runtime.engine, signed.account, text, runtime.clock
        )
    except ValueError as exc:
        return await _contacts_page(request, signed, 400, import_errors={"file": str(exc)})
    return await _contacts_page(request, signed, imported=result)


@router.get("/contacts/{contact_id:id32}")
async def edit_form(request: Request, contact_id: int, signed: Account) -> Response:
    try:
        row = await run_in_threadpool(
            dashboard.contacts.get_contact,
            common.runtime(request).engine,
            signed.account.id,
            contact_id,
        )
    except NotFound:
        raise Refused(404, "There is no such contact in this account.") from None
    values = {name: getattr(row, name) for name in dashboard.contacts.CSV_FIELDS}
    return common.render(
        request,
        "contact.html",
        signed,
        contact_id=contact_id,
        values=values,
        errors={},
        notice=notice(request),
        **await crm.contact_extras(request, signed, contact_id),
    )


@router.post("/contacts/{contact_id:id32}")
async def save(request: Request, contact_id: int, signed: Account) -> Response:
    form = await common.form_of(request)
    values = {name: common.field(form, name, 500) for name in dashboard.contacts.CSV_FIELDS}
    try:
        errors = await run_in_threadpool(
            dashboard.contacts.update_contact,
            common.runtime(request).engine,
            signed.account,
            contact_id,
            values,
            common.runtime(request).clock,
        )
    except NotFound:
        raise Refused(404, "There is no such contact in this account.") from None
    if errors:
        return common.render(
            request,
            "contact.html",
            signed,
            status_code=400,
            contact_id=contact_id,
            values=values,
            errors=errors,
            **await crm.contact_extras(request, signed, contact_id),
        )
    return common.redirect(request, "/app/contacts?done=saved")


@router.post("/contacts/{contact_id:id32}/delete")
async def remove(request: Request, contact_id: int, signed: Account) -> Response:
    try:
        await run_in_threadpool(
            dashboard.contacts.delete_contact,
            common.runtime(request).engine,
            signed.account.id,
            contact_id,
        )
    except NotFound:
        raise Refused(404, "There is no such contact in this account.") from None
    return common.redirect(request, "/app/contacts?done=deleted")


# --- calls ---------------------------------------------------------------------------


async def _calls_page(
    request: Request, signed: Signed, status: int = 200, errors: dict[int, str] | None = None
) -> Response:
    page, quals = await run_in_threadpool(
        dashboard.calls.list_calls,
        common.runtime(request).engine,
        signed.account.id,
        common.page_link(request),
    )
    return common.render(
        request,
        "calls.html",
        signed,
        status_code=status,
        page=page,
        quals=quals,
        errors=errors or {},
        notice=notice(request),
    )


@router.get("/calls")
async def calls(request: Request, signed: Account) -> Response:
    return await _calls_page(request, signed)


@router.post("/calls/{call_id:id64}/qualify")
async def qualify(request: Request, call_id: int, signed: Account) -> Response:
    form = await common.form_of(request)
    try:
        await run_in_threadpool(
            dashboard.calls.qualify_call,
            common.runtime(request).engine,
            signed.account,
            call_id,
            common.field(form, "text", 5000),
            common.runtime(request).clock,
        )
    except NotFound:
        raise Refused(404, "There is no such call in this account.") from None
    except ValueError as exc:
        return await _calls_page(request, signed, 400, {call_id: str(exc)})
    return common.redirect(request, f"/app/calls?done=qualified#call-{call_id}")
