"""v2 endpoints: stats/overview and stats/clicks (docs/api-v2.md, "Stats")."""

from __future__ import annotations

from typing import Any

from simgate.api.v2 import keyset
from simgate.api.v2.envelope import Call, endpoint
from simgate.services import stats


@endpoint("stats/overview")
async def overview(call: Call) -> dict[str, Any]:
    params = call.params
    since = params.date("date_from")  # "" is no bound
    until = params.date("date_to", end=True)
    got = await call.sync(stats.overview, call.runtime.engine, call.account.id, since, until)
    return {
        "date_from": params.text("date_from").strip() or None,
        "date_to": params.text("date_to").strip() or None,
        "sms": {
            "sent": got.sms_sent,
            "received": got.sms_received,
            "delivered": got.sms_delivered,
            "failed": got.sms_failed,
            "pending": got.sms_pending,
            "total_outbound": got.sms_total,
        },
        "calls": {
            **got.calls,
            "qualified": got.calls_qualified,
            "total": sum(got.calls.values()),
        },
        "clicks": {"total": got.clicks, "previews": got.preview_clicks},
        "contacts": {"total": got.contacts},
    }


@endpoint("stats/clicks")
async def clicks(call: Call) -> dict[str, Any]:
    params = call.params
    previews = params.boolean("include_previews", default=False)
    page = await call.sync(
        stats.latest_clicks,
        call.runtime.engine,
        call.account.id,
        params.limit(10),
        previews,
        keyset.time_and_id(call),
    )
    last = page.rows[-1] if page.has_more and page.rows else None
    return {
        "clicks": [
            {
                "id": str(row.id),
                "date": call.local(row.clicked_at),
                "sms_id": row.id_sms_api,
                "phone_number": row.phone_number,
                "url": row.url or "",
                "user_agent": row.user_agent or "",
                "is_preview": row.is_preview,
            }
            for row in page.rows
        ],
        "next_cursor": keyset.encode(last.clicked_at, last.id) if last else None,
        "has_more": page.has_more,
    }
