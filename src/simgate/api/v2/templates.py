"""v2 endpoints: templates (docs/api-v2.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from simgate.api.v2.envelope import MAX_NAME_FIELD, Call, Params, endpoint, object_id
from simgate.domain import cursors
from simgate.domain.templates import variables_of
from simgate.errors import Invalid, Missing
from simgate.services import templates as service
from simgate.services.templates import SendResult, TemplateRow

DEFAULT_PAGE = 100


def time_cursor(params: Params) -> tuple[datetime, int] | None:
    """The request's cursor of a list ordered by (created_at, id), newest first."""
    values = params.cursor(2)
    if values is None:
        return None
    created, last_id = values
    if isinstance(created, str) and isinstance(last_id, int):
        try:
            return datetime.fromisoformat(created), last_id
        except ValueError:
            pass
    raise Invalid("cursor", "cursor: not a cursor this server gave")


def next_cursor(created: datetime, row_id: int) -> str:
    return cursors.encode(created.isoformat(), row_id)


def template_of(call: Call, row: TemplateRow) -> dict[str, Any]:
    tid = object_id(row.id)
    return {
        "id": tid,
        "template_id": tid,
        "name": row.name,
        "message": row.message,
        "variables": variables_of(row.message),
        "created": call.local(row.created_at),
        "updated": call.local(row.updated_at),
    }


@endpoint("templates")
async def templates(call: Call) -> dict[str, Any]:
    limit = call.params.limit(DEFAULT_PAGE)
    after = time_cursor(call.params)
    rows, more = await call.sync(
        service.list_templates, call.runtime.engine, call.account, limit, after
    )
    last = rows[-1] if rows and more else None
    return {
        "templates": [template_of(call, row) for row in rows],
        "next_cursor": next_cursor(last.created_at, last.id) if last else None,
        "has_more": more,
    }


@endpoint("templates/create")
async def create(call: Call) -> dict[str, Any]:
    name = call.params.name("name", required=True)
    message = call.params.text("message", required=True)
    row = await call.sync(
        service.create_template,
        call.runtime.engine,
        call.account,
        name,
        message,
        call.runtime.clock,
    )
    return {"template_id": object_id(row.id), "template": template_of(call, row)}


@endpoint("templates/update")
async def update(call: Call) -> dict[str, Any]:
    """Absent, null or "" leaves a field as it is (the client sends only
    what was given)."""
    template_id = call.params.id("template_id")
    name = call.params.text("name", max_length=MAX_NAME_FIELD).strip() or None
    message = call.params.text("message") or None
    if message is not None and not message.strip():
        raise Missing("message", "message cannot be blank")
    row = await call.sync(
        service.update_template,
        call.runtime.engine,
        call.account,
        template_id,
        name,
        message,
        call.runtime.clock,
    )
    return {"template_id": object_id(row.id), "template": template_of(call, row)}


@endpoint("templates/delete")
async def delete(call: Call) -> dict[str, Any]:
    template_id = call.params.id("template_id")
    await call.sync(service.delete_template, call.runtime.engine, call.account, template_id)
    return {"template_id": object_id(template_id), "deleted": True}


SEND_OPTIONS = ("url", "priority", "date_to_send")


@endpoint("templates/send")
async def send(call: Call) -> dict[str, Any]:
    """Render per recipient and send like sendsms; one `result` per recipient."""
    params = call.params
    template_id = params.id("template_id")
    limit = call.runtime.settings.max_messages_per_request
    items = params.array("recipients", max_items=limit, required=True)
    if not items:
        raise Missing("recipients", "recipients must hold at least one recipient")
    options = {name: params.data[name] for name in SEND_OPTIONS if params.data.get(name)}
    results = await call.sync(
        service.send_template,
        call.runtime.engine,
        call.account,
        template_id,
        items,
        call.runtime.public_url,
        options,
        call.runtime.clock,
    )
    sent = [r for r in results if r.sent]
    if not sent:
        first = results[0].refusal
        assert first is not None
        error = Missing if first.error_code == "MISSING_FIELD" else Invalid
        raise error(first.field, first.error)
    return {
        "template_id": object_id(template_id),
        "sent_count": len(sent),
        "result": [result_of(r) for r in results],
    }


def result_of(result: SendResult) -> dict[str, Any]:
    if result.refusal is None:
        return {
            "sent": 1,
            "sms_id": result.sms_id,
            "phone_number": result.phone_number,
            "message": result.message,
            "segments": result.segments,
        }
    return {
        "sent": 0,
        "phone_number": result.phone_number,
        "error": result.refusal.error,
        "error_code": result.refusal.error_code,
        "field": result.refusal.field,
    }
