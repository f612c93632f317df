"""v2 endpoints: campaigns (docs/api-v2.md)."""

from __future__ import annotations

from typing import Any

from simgate.api.v2.envelope import Call, Params, endpoint, object_id, parse_id
from simgate.api.v2.templates import next_cursor, time_cursor
from simgate.errors import Invalid
from simgate.services import campaigns as service
from simgate.services.campaigns import CampaignSpec, CampaignView

DEFAULT_PAGE = 10
# The send path's own range (domain/messages.PRIORITY_RANGE).
PRIORITY_MIN, PRIORITY_MAX = -1000, 1000


def campaign_of(call: Call, view: CampaignView) -> dict[str, Any]:
    row, counts = view.row, view.counts
    cid = object_id(row.id)
    return {
        "id": cid,
        "campaign_id": cid,
        "name": row.name,
        "message": row.message,
        "url": row.url,
        "priority": row.priority,
        "status": view.status,
        "status_label": view.label,
        "list_id": None if row.list_id is None else object_id(row.list_id),
        "template_id": None if row.template_id is None else object_id(row.template_id),
        "recipients": row.recipients,
        "sent": counts.sent,
        "delivered": counts.delivered,
        "failed": counts.failed,
        "pending": counts.pending,
        "clicks": counts.clicks,
        "opted_out": counts.opted_out,  # simgate's extension (docs/api-v2.md)
        "date_to_send": call.local(row.send_at),
        "created": call.local(row.created_at),
        "started": call.local(row.started_at),
        "completed": call.local(view.completed_at),
        "cancelled": call.local(row.cancelled_at),
    }


@endpoint("campaigns")
async def campaigns(call: Call) -> dict[str, Any]:
    limit = call.params.limit(DEFAULT_PAGE)
    after = time_cursor(call.params)
    views, more = await call.sync(
        service.list_campaigns, call.runtime.engine, call.account, limit, after
    )
    last = views[-1].row if views and more else None
    return {
        "campaigns": [campaign_of(call, view) for view in views],
        "next_cursor": next_cursor(last.created_at, last.id) if last else None,
        "has_more": more,
    }


def _optional_id(params: Params, name: str) -> int | None:
    value = params.data.get(name)
    return None if value is None or value == "" else parse_id(name, value)


def _id_strings(params: Params, name: str, max_items: int) -> list[str] | None:
    """contact_ids as strings (an id sent as a number works too); None when absent."""
    if params.data.get(name) is None:
        return None
    values = params.array(name, max_items=max_items)
    if any(isinstance(v, bool) or not isinstance(v, str | int) for v in values):
        raise Invalid(name, f"{name} must be an array of id strings")
    return [str(v) for v in values]


@endpoint("campaigns/create")
async def create(call: Call) -> dict[str, Any]:
    params = call.params
    most = call.runtime.settings.max_messages_per_request
    numbers = params.strings("phone_numbers", max_items=most, max_length=64)
    spec = CampaignSpec(
        name=params.name("name", required=True),
        message=params.text("message"),
        template_id=_optional_id(params, "template_id"),
        url=params.text("url", max_length=2000).strip() or None,
        priority=params.integer("priority", 0, PRIORITY_MIN, PRIORITY_MAX),
        send_at=params.date("date_to_send"),
        list_id=_optional_id(params, "list_id"),
        contact_ids=_id_strings(params, "contact_ids", most),
        phone_numbers=numbers if params.data.get("phone_numbers") is not None else None,
    )
    view = await call.sync(
        service.create_campaign,
        call.runtime.engine,
        call.account,
        spec,
        call.runtime.public_url,
        call.runtime.clock,
    )
    refused = [{"recipient": r.value, "field": r.field, "error": r.error} for r in view.refused]
    return {
        "campaign_id": object_id(view.row.id),
        "campaign": campaign_of(call, view) | {"refused": refused},
    }


@endpoint("campaigns/detail")
async def detail(call: Call) -> dict[str, Any]:
    campaign_id = call.params.id("campaign_id")
    view = await call.sync(service.get_campaign, call.runtime.engine, call.account, campaign_id)
    return {"campaign": campaign_of(call, view)}


@endpoint("campaigns/start")
async def start(call: Call) -> dict[str, Any]:
    campaign_id = call.params.id("campaign_id")
    started = await call.sync(
        service.start_campaign,
        call.runtime.engine,
        call.account,
        campaign_id,
        call.runtime.public_url,
        call.runtime.clock,
    )
    view = await call.sync(service.get_campaign, call.runtime.engine, call.account, campaign_id)
    refused = [
        {
            "phone_number": number,
            "error": why.error,
            "error_code": why.error_code,
            "field": why.field,
        }
        for number, why in started.refused
    ]
    return {
        "campaign_id": object_id(campaign_id),
        "queued": started.queued,
        "refused": refused,
        "campaign": campaign_of(call, view),
    }


@endpoint("campaigns/cancel")
async def cancel(call: Call) -> dict[str, Any]:
    campaign_id = call.params.id("campaign_id")
    stopped = await call.sync(
        service.cancel_campaign, call.runtime.engine, call.account, campaign_id, call.runtime.clock
    )
    view = await call.sync(service.get_campaign, call.runtime.engine, call.account, campaign_id)
    return {
        "campaign_id": object_id(campaign_id),
        "stopped": stopped,
        "campaign": campaign_of(call, view),
    }
