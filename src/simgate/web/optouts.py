"""The Opt-outs page: the account's STOP list (search, add, remove, import,
export) and each number's history (docs/dashboard.md, docs/policy.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import Response, StreamingResponse

from simgate.domain import cursors
from simgate.errors import Invalid
from simgate.services import suppressions
from simgate.web import common
from simgate.web.common import Signed, signed_in

router = APIRouter()
Account = Annotated[Signed, Depends(signed_in)]
PAGE = 50

NOTICES = {
    "added": "The number is on the opt-out list: nothing will be sent to it.",
    "already": "The number was already on the opt-out list.",
    "removed": "The number is off the opt-out list: messages reach it again.",
    "absent": "The number was not on the opt-out list.",
}


def _after(raw: str) -> tuple[datetime, str] | None:
    """The page's keyset from its `after` link; a bad one starts over."""
    if not raw:
        return None
    try:
        at, number = cursors.decode(raw, 2)
        return datetime.fromisoformat(at).replace(tzinfo=None), str(number)[:32]
    except (cursors.InvalidCursor, TypeError, ValueError):
        return None


async def _page(request: Request, signed: Signed, status: int = 200, **extra: Any) -> Response:
    engine = common.runtime(request).engine
    query = request.query_params
    search = query.get("q", "")[:40]
    errors: dict[str, str] = dict(extra.pop("errors", {}))
    try:
        rows, more = await run_in_threadpool(
            suppressions.page, engine, signed.account, _after(query.get("after", "")), PAGE, search
        )
    except Invalid as exc:
        errors["q"] = str(exc)
        rows, more = await run_in_threadpool(suppressions.page, engine, signed.account, None, PAGE)
    last = rows[-1] if rows and more else None
    next_link = None if last is None else cursors.encode(last.since.isoformat(), last.phone_number)
    history = None
    shown = query.get("number", "")[:40]
    if shown:
        try:
            history = await run_in_threadpool(suppressions.history, engine, signed.account, shown)
        except Invalid as exc:
            errors["number"] = str(exc)
    total = await run_in_threadpool(suppressions.count, engine, signed.account)
    context: dict[str, Any] = {
        "rows": rows,
        "next_link": next_link,
        "search": search,
        "history": history,
        "total": total,
        "errors": errors,
        "imported": None,
        "values": {},
        "notice": NOTICES.get(query.get("done", ""), ""),
    }
    context.update(extra)
    return common.render(request, "optouts.html", signed, status_code=status, **context)


@router.get("/optouts")
async def optouts(request: Request, signed: Account) -> Response:
    return await _page(request, signed)


@router.post("/optouts/add")
async def add(request: Request, signed: Account) -> Response:
    form = await common.form_of(request)
    number, note = common.field(form, "number", 64), common.field(form, "note", 1000)
    runtime = common.runtime(request)
    try:
        change = await run_in_threadpool(
            suppressions.add,
            runtime.engine,
            signed.account,
            [number],
            "manual",
            note,
            runtime.clock,
        )
    except Invalid as exc:
        values = {"number": number, "note": note}
        return await _page(request, signed, 400, errors={"number": str(exc)}, values=values)
    done = "added" if change.changed else "already"
    shown = (change.changed or change.unchanged)[0]
    return common.redirect(request, f"/app/optouts?done={done}&number={quote(shown)}")


@router.post("/optouts/remove")
async def remove(request: Request, signed: Account) -> Response:
    form = await common.form_of(request)
    number = common.field(form, "number", 64)
    runtime = common.runtime(request)
    try:
        change = await run_in_threadpool(
            suppressions.remove, runtime.engine, signed.account, [number], "manual", "",
            runtime.clock,
        )  # fmt: skip
    except Invalid as exc:
        return await _page(request, signed, 400, errors={"number": str(exc)})
    done = "removed" if change.changed else "absent"
    shown = (change.changed or change.unchanged)[0]
    return common.redirect(request, f"/app/optouts?done={done}&number={quote(shown)}")


@router.post("/optouts/import")
async def import_file(request: Request, signed: Account) -> Response:
    form = await common.form_of(request)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _page(request, signed, 400, errors={"file": "Choose a CSV or text file."})
    raw = await upload.read(common.MAX_UPLOAD + 1)
    if len(raw) > common.MAX_UPLOAD:
        return await _page(
            request, signed, 400, errors={"file": "The file is over 5 MB: split it."}
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # what spreadsheet exports often are
    runtime = common.runtime(request)
    note = common.field(form, "note", 1000)
    try:
        change = await run_in_threadpool(
            suppressions.import_text, runtime.engine, signed.account, text, note, runtime.clock
        )
    except Invalid as exc:
        return await _page(request, signed, 400, errors={"file": str(exc)})
    return await _page(request, signed, imported=change)


@router.get("/optouts/export.csv")
async def export(request: Request, signed: Account) -> Response:
    chunks = suppressions.export_csv(common.runtime(request).engine, signed.account)
    return StreamingResponse(
        iterate_in_threadpool(chunks),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="optouts.csv"'},
    )
