"""v2 endpoints: sms, sms/detail, sms/conversation, sms/delivery_status and
sendsms (docs/api-v2.md, "SMS")."""

from __future__ import annotations

from typing import Any, cast

from simgate.api.v2 import keyset
from simgate.api.v2.envelope import MAX_ID_LENGTH, Call, endpoint, object_id
from simgate.domain import delivery, send_results
from simgate.domain.sms import count_segments
from simgate.errors import Invalid, Missing, NotFound, Refused
from simgate.services import history, suppressions
from simgate.services.history import Bound, ReceivedRow, SentRow
from simgate.services.messages import accept_messages

DIRECTIONS = ("all", "inbound", "outbound")
MAX_STATUS_IDS = 100


def sms_fields(call: Call, row: SentRow | ReceivedRow) -> dict[str, Any]:
    """A message as every v2 answer shows it (docs/api-v2.md)."""
    if isinstance(row, SentRow):
        return {
            "id": row.id_sms_api,
            "sms_id": row.id_sms_api,
            "direction": "outbound",
            "phone_number": row.phone_number,
            "message": row.message,
            "date": call.local(row.created_at),
            "status": row.state,
            "delivery_status": delivery.delivery_status(row.state),
            "segments": row.segments,
            "campaign_id": object_id(row.campaign_id) if row.campaign_id is not None else None,
        }
    sms_id = history.inbound_id(row.id)
    return {
        "id": sms_id,
        "sms_id": sms_id,
        "direction": "inbound",
        "phone_number": row.from_number,
        "message": row.text,
        "date": call.local(row.received_at),
        "status": delivery.INBOUND_STATE,
        "delivery_status": delivery.INBOUND_STATUS,
        "segments": count_segments(row.text).parts,
        "campaign_id": None,
    }


def _bound(call: Call) -> Bound | None:
    decoded = keyset.decode(call, 3)
    if decoded is None:
        return None
    at, (rank, row_id) = decoded
    return Bound(at, rank, row_id)


def _next_cursor(page: history.Page) -> str | None:
    if not page.has_more or not page.items:
        return None
    last = page.items[-1].bound
    return keyset.encode(last.at, last.rank, last.id)


@endpoint("sms")
async def list_sms(call: Call) -> dict[str, Any]:
    params = call.params
    direction = cast(history.Direction, params.choice("direction", DIRECTIONS, "all"))
    limit = params.limit(5)
    phone = params.phone("phone_number", required=False)
    since = params.date("date_from")
    until = params.date("date_to", end=True)
    bound = _bound(call)
    page = await call.sync(
        history.list_sms,
        call.runtime.engine,
        call.account.id,
        limit,
        direction,
        phone,
        since,
        until,
        bound,
    )
    return {
        "messages": [sms_fields(call, item.row) for item in page.items],
        "next_cursor": _next_cursor(page),
        "has_more": page.has_more,
    }


def _sms_id(name: str, value: Any) -> str:
    """An sms id as the request gave it (a number is read as its digits),
    cut to what an id can hold: a longer one names no message."""
    if value is None:
        raise Missing(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise Invalid(name, f"{name} must be an id string")
    text = value.strip()
    if not text:
        raise Missing(name)
    if "\x00" in text:
        raise Invalid(name, f"{name} holds a NUL character")
    return text[: MAX_ID_LENGTH + 1]


@endpoint("sms/detail")
async def sms_detail(call: Call) -> dict[str, Any]:
    sms_id = _sms_id("sms_id", call.params.data.get("sms_id"))
    found = await call.sync(history.detail, call.runtime.engine, call.account.id, sms_id)
    if found is None:
        raise NotFound(f"no SMS with id {sms_id!r}", field="sms_id")
    if found.received is not None:
        received = found.received
        # The keys of a sent message's detail, so that scripts read either alike.
        return {
            "sms": sms_fields(call, received)
            | {
                "description": delivery.INBOUND_SENTENCE,
                "url": None,
                "short_link": None,
                "priority": None,
                "encoding": None,
                "send_at": None,
                "sent_at": None,
                "delivered_at": call.local(received.received_at),
                "failed_at": None,
                "fail_reason": None,
                "events": [],
                "clicks": [],
                "click_count": 0,
            }
        }
    assert found.sent is not None
    sent = found.sent
    row = sent.row
    short_link = f"{call.runtime.public_url}/{sent.short_code}" if sent.short_code else None
    return {
        "sms": sms_fields(call, row)
        | {
            "description": delivery.describe(row.state, row.fail_reason),
            "url": sent.url,
            "short_link": short_link,
            "priority": sent.priority,
            "encoding": sent.encoding,
            "send_at": call.local(sent.send_at),
            "sent_at": call.local(sent.sent_at),
            "delivered_at": call.local(sent.delivered_at),
            "failed_at": call.local(sent.failed_at),
            "fail_reason": row.fail_reason,
            "events": [
                {"date": call.local(at), "state": state, "detail": detail}
                for at, state, detail in found.events
            ],
            "clicks": [
                {
                    "date": call.local(c.clicked_at),
                    "user_agent": c.user_agent or "",
                    "is_preview": c.is_preview,
                }
                for c in found.clicks
            ],
            "click_count": sum(1 for c in found.clicks if not c.is_preview),
        }
    }


@endpoint("sms/conversation")
async def sms_conversation(call: Call) -> dict[str, Any]:
    params = call.params
    phone = params.phone("phone_number")
    assert phone is not None
    limit = params.limit(20)
    items = await call.sync(
        history.conversation, call.runtime.engine, call.account.id, phone, limit
    )
    return {"phone_number": phone, "messages": [sms_fields(call, i.row) for i in items]}


def _status_ids(call: Call) -> list[str]:
    """`sms_ids` (up to 100) if given, else `sms_id`: in the order asked."""
    params = call.params
    if params.data.get("sms_ids") not in (None, []):
        values = params.array("sms_ids", max_items=MAX_STATUS_IDS)
        return [_sms_id("sms_ids", value) for value in values]
    return [_sms_id("sms_id", params.data.get("sms_id"))]


@endpoint("sms/delivery_status")
async def delivery_status(call: Call) -> dict[str, Any]:
    asked = _status_ids(call)
    found = await call.sync(history.lookup, call.runtime.engine, call.account.id, asked)
    # A send the opt-out list refused never became a message: `blocked`.
    missing = [sms_id for sms_id in asked if sms_id not in found]
    refused = await call.sync(suppressions.refusals, call.runtime.engine, call.account.id, missing)
    return {
        "statuses": [
            _blocked(sms_id, refused[sms_id])
            if sms_id in refused and sms_id not in found
            else _status(sms_id, found.get(sms_id))
            for sms_id in asked
        ]
    }


def _blocked(sms_id: str, refusal: suppressions.Refusal) -> dict[str, Any]:
    return {
        "sms_id": sms_id,
        "phone_number": refusal.phone_number,
        "delivery_status": "blocked",
        "status": None,
        "description": delivery.BLOCKED_SENTENCE,
        "message_preview": "",
    }


def _status(sms_id: str, row: SentRow | ReceivedRow | None) -> dict[str, Any]:
    if row is None:
        return {
            "sms_id": sms_id,
            "phone_number": "",
            "delivery_status": "not_found",
            "status": None,
            "description": delivery.NOT_FOUND_SENTENCE,
            "message_preview": "",
        }
    if isinstance(row, ReceivedRow):
        return {
            "sms_id": sms_id,
            "phone_number": row.from_number,
            "delivery_status": delivery.INBOUND_STATUS,
            "status": delivery.INBOUND_STATE,
            "description": delivery.INBOUND_SENTENCE,
            "message_preview": delivery.preview(row.text),
        }
    return {
        "sms_id": sms_id,
        "phone_number": row.phone_number,
        "delivery_status": delivery.delivery_status(row.state),
        "status": row.state,
        "description": delivery.describe(row.state, row.fail_reason),
        "message_preview": delivery.preview(row.message),
    }


@endpoint("sendsms")
async def sendsms(call: Call) -> dict[str, Any]:
    runtime = call.runtime
    items = call.params.array(
        "messages", max_items=runtime.settings.max_messages_per_request, required=True
    )
    if not items:
        raise Missing("messages", "messages must hold at least one message")
    now = runtime.clock.now()
    tz = call.account.tz
    # The client's own "now" is sent at once whatever its zone (send_results).
    prepared = [
        {**item, "date_to_send": ""}
        if isinstance(item, dict)
        and send_results.is_client_clock_stamp(item.get("date_to_send"), tz, now)
        else item
        for item in items
    ]
    answers, _ = await call.sync(
        accept_messages, runtime.engine, call.account, prepared, runtime.public_url, runtime.clock
    )
    results = [send_results.result(i, answer) for i, answer in enumerate(answers)]
    sent_count = sum(1 for r in results if r["sent"] == 1)
    if sent_count == 0:
        # Nothing accepted: an error, or the client would print "0 message(s)
        # delivered" as a success. The first refusal says why.
        first = results[0]
        if first["error_code"] == "RECIPIENT_OPTED_OUT":
            raise Refused(first["field"], first["error"], first["error_code"])
        error = Missing if first["error_code"] == "MISSING_FIELD" else Invalid
        raise error(first["field"], first["error"])
    return {"sent_count": sent_count, "total": len(results), "result": results}
