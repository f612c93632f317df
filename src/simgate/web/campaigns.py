"""Templates (list, create, edit, delete) and campaigns (list with live counts,
create from a list, a template or pasted numbers, start, cancel, detail)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from simgate.domain import campaigns as states
from simgate.domain.dates import InvalidDate, parse_send_date
from simgate.domain.templates import variables_of
from simgate.errors import Conflict, Invalid, NotFound
from simgate.services import campaigns as campaign_service
from simgate.services import templates as template_service
from simgate.services.campaigns import CampaignSpec
from simgate.web import common
from simgate.web.common import Refused, Signed, signed_in
from simgate.web.pages import split_numbers

router = APIRouter()
Account = Annotated[Signed, Depends(signed_in)]

MAX_TEXT = 5000
MAX_NAME = 200
MAX_NUMBERS = 10_000
NOTICES = {
    "created": "Template saved.",
    "saved": "Template saved.",
    "deleted": "Template deleted.",
    "started": "Campaign started: its messages are queued for your phones.",
    "cancelled": "Campaign cancelled: what no phone held yet will not be sent.",
}
# A service's field → the form's.
FORM_FIELDS = {"phone_numbers": "numbers", "contact_ids": "numbers", "date_to_send": "at"}


def notice(request: Request) -> str:
    return NOTICES.get(request.query_params.get("done", ""), "")


# --- templates ------------------------------------------------------------------------


async def _templates_page(
    request: Request, signed: Signed, status: int = 200, **extra: Any
) -> Response:
    engine = common.runtime(request).engine
    rows, _ = await run_in_threadpool(template_service.list_templates, engine, signed.account, 100)
    context: dict[str, Any] = {"values": {"name": "", "message": ""}, "errors": {}}
    context.update(extra)
    return common.render(
        request, "templates.html", signed, status_code=status, rows=rows,
        variables_of=variables_of, notice=notice(request), **context,
    )  # fmt: skip


def _template_values(form: Any) -> tuple[dict[str, str], dict[str, str]]:
    values = {
        "name": common.field(form, "name", MAX_NAME * 2).strip(),
        "message": common.field(form, "message", MAX_TEXT * 2).replace("\r\n", "\n"),
    }
    errors = {}
    if not values["name"]:
        errors["name"] = "Give the template a name."
    elif len(values["name"]) > MAX_NAME:
        errors["name"] = f"At most {MAX_NAME} characters."
    if not values["message"].strip():
        errors["message"] = "Write the message."
    elif len(values["message"]) > MAX_TEXT:
        errors["message"] = f"At most {MAX_TEXT} characters."
    return values, errors


@router.get("/templates")
async def templates(request: Request, signed: Account) -> Response:
    return await _templates_page(request, signed)


@router.post("/templates")
async def create_template(request: Request, signed: Account) -> Response:
    values, errors = _template_values(await common.form_of(request))
    if errors:
        return await _templates_page(request, signed, 400, values=values, errors=errors)
    runtime = common.runtime(request)
    await run_in_threadpool(
        template_service.create_template, runtime.engine, signed.account,
        values["name"], values["message"], runtime.clock,
    )  # fmt: skip
    return common.redirect(request, "/app/templates?done=created")


@router.get("/templates/{template_id:id32}")
async def template_form(request: Request, template_id: int, signed: Account) -> Response:
    try:
        row = await run_in_threadpool(
            template_service.get_template, common.runtime(request).engine, signed.account,
            template_id,
        )  # fmt: skip
    except NotFound:
        raise Refused(404, "There is no such template in this account.") from None
    values = {"name": row.name, "message": row.message}
    return common.render(
        request, "template.html", signed, template_id=template_id, values=values, errors={}
    )


@router.post("/templates/{template_id:id32}")
async def save_template(request: Request, template_id: int, signed: Account) -> Response:
    values, errors = _template_values(await common.form_of(request))
    if errors:
        return common.render(
            request, "template.html", signed, status_code=400, template_id=template_id,
            values=values, errors=errors,
        )  # fmt: skip
    runtime = common.runtime(request)
    try:
        await run_in_threadpool(
            template_service.update_template, runtime.engine, signed.account, template_id,
            values["name"], values["message"], runtime.clock,
        )  # fmt: skip
    except NotFound:
        raise Refused(404, "There is no such template in this account.") from None
    return common.redirect(request, "/app/templates?done=saved")


@router.post("/templates/{template_id:id32}/delete")
async def delete_template(request: Request, template_id: int, signed: Account) -> Response:
    try:
        await run_in_threadpool(
            template_service.delete_template, common.runtime(request).engine, signed.account,
            template_id,
        )  # fmt: skip
    except NotFound:
        raise Refused(404, "There is no such template in this account.") from None
    return common.redirect(request, "/app/templates?done=deleted")


# --- campaigns ------------------------------------------------------------------------


@router.get("/campaigns")
async def campaigns(request: Request, signed: Account) -> Response:
    views, more = await run_in_threadpool(
        campaign_service.list_campaigns, common.runtime(request).engine, signed.account, 100
    )
    live = bool(request.headers.get("HX-Request"))
    return common.render(
        request, "_campaigns.html" if live else "campaigns.html", signed,
        views=views, more=more, notice=notice(request),
    )  # fmt: skip


async def _new_page(
    request: Request, signed: Signed, values: dict[str, str], errors: dict[str, str], status: int
) -> Response:
    engine = common.runtime(request).engine
    lists = await run_in_threadpool(campaign_service.list_choices, engine, signed.account)
    rows, _ = await run_in_threadpool(template_service.list_templates, engine, signed.account, 100)
    return common.render(
        request, "campaign_new.html", signed, status_code=status, values=values,
        errors=errors, lists=lists, templates=rows,
    )  # fmt: skip


NEW_FIELDS = ("name", "message", "template_id", "list_id", "numbers", "url", "priority", "at")


@router.get("/campaigns/new")
async def new_campaign(request: Request, signed: Account) -> Response:
    values = dict.fromkeys(NEW_FIELDS, "") | {"priority": "1"}
    values["template_id"] = request.query_params.get("template", "")[:12]
    values["list_id"] = request.query_params.get("list", "")[:12]
    return await _new_page(request, signed, values, {}, 200)


def _as_id(raw: str) -> int | None:
    return int(raw) if re.fullmatch("[0-9]{1,9}", raw) else None


@router.post("/campaigns")
async def create_campaign(request: Request, signed: Account) -> Response:
    form = await common.form_of(request)
    values = {name: common.field(form, name, 400_000 if name == "numbers" else MAX_TEXT * 2)
              for name in NEW_FIELDS}  # fmt: skip
    values["message"] = values["message"].replace("\r\n", "\n")
    errors: dict[str, str] = {}
    numbers = split_numbers(values["numbers"])
    if len(numbers) > MAX_NUMBERS:
        errors["numbers"] = f"At most {MAX_NUMBERS} numbers here (use a list for more)."
    list_id, template_id = _as_id(values["list_id"]), _as_id(values["template_id"])
    if not (list_id or numbers):
        errors["numbers"] = "Pick a list or paste some numbers."
    if not values["name"].strip():
        errors["name"] = "Give the campaign a name."
    if not re.fullmatch(r"-?[0-9]{1,4}", values["priority"].strip() or "1"):
        errors["priority"] = "A whole number, from -1000 to 1000."
    send_at = None
    try:
        send_at = parse_send_date(values["at"].replace("T", " "), signed.account.tz)
    except InvalidDate:
        errors["at"] = "Use a date and time like 2026-01-31 14:30."
    if errors:
        return await _new_page(request, signed, values, errors, 400)
    spec = CampaignSpec(
        name=values["name"].strip()[:MAX_NAME],
        message=values["message"] if template_id is None else "",
        template_id=template_id,
        url=values["url"].strip() or None,
        priority=int(values["priority"].strip() or "1"),
        send_at=send_at,
        list_id=list_id,
        phone_numbers=numbers or None,
    )
    runtime = common.runtime(request)
    try:
        view = await run_in_threadpool(
            campaign_service.create_campaign, runtime.engine, signed.account, spec,
            runtime.public_url, runtime.clock,
        )  # fmt: skip
    except (Invalid, NotFound) as error:
        name = FORM_FIELDS.get(error.field or "", error.field or "name")
        errors[name if name in NEW_FIELDS else "message"] = str(error)
        return await _new_page(request, signed, values, errors, 400)
    return common.render(
        request, "campaign.html", signed, v=view, refused=view.refused, states=states,
        notice=f"Campaign created with {view.row.recipients} recipients.",
    )  # fmt: skip


@router.get("/campaigns/{campaign_id:id32}")
async def campaign(request: Request, campaign_id: int, signed: Account) -> Response:
    try:
        view = await run_in_threadpool(
            campaign_service.get_campaign, common.runtime(request).engine, signed.account,
            campaign_id,
        )  # fmt: skip
    except NotFound:
        raise Refused(404, "There is no such campaign in this account.") from None
    if request.headers.get("HX-Request"):
        final = view.status == states.NO_RECIPIENTS or (
            view.status == states.CANCELLED and view.counts.pending == 0
        )
        # 286 tells htmx to stop polling: nothing of it changes any more.
        return common.render(
            request, "_campaign_counts.html", signed, status_code=286 if final else 200,
            v=view, states=states,
        )  # fmt: skip
    return common.render(
        request, "campaign.html", signed, v=view, refused=[], states=states,
        notice=notice(request),
    )  # fmt: skip


@router.post("/campaigns/{campaign_id:id32}/start")
async def start(request: Request, campaign_id: int, signed: Account) -> Response:
    runtime = common.runtime(request)
    try:
        await run_in_threadpool(
            campaign_service.start_campaign, runtime.engine, signed.account, campaign_id,
            runtime.public_url, runtime.clock,
        )  # fmt: skip
    except NotFound:
        raise Refused(404, "There is no such campaign in this account.") from None
    except Conflict as error:
        raise Refused(409, f"This campaign cannot start: {error}.") from None
    return common.redirect(request, f"/app/campaigns/{campaign_id}?done=started")


@router.post("/campaigns/{campaign_id:id32}/cancel")
async def cancel(request: Request, campaign_id: int, signed: Account) -> Response:
    runtime = common.runtime(request)
    try:
        await run_in_threadpool(
            campaign_service.cancel_campaign, runtime.engine, signed.account, campaign_id,
            runtime.clock,
        )  # fmt: skip
    except NotFound:
        raise Refused(404, "There is no such campaign in this account.") from None
    except Conflict as error:
        raise Refused(409, f"This campaign cannot be cancelled: {error}.") from None
    return common.redirect(request, f"/app/campaigns/{campaign_id}?done=cancelled")
