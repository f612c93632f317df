"""v2 endpoints: calls, calls/qualify, clictocall and the qualifications
(docs/api-v2.md, "Calls and qualifications")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from simgate.api.v2 import keyset
from simgate.api.v2.envelope import Call, endpoint, object_id
from simgate.domain.call_log import CALL_TYPES, CallType, call_type, duration_seconds
from simgate.errors import Conflict, Invalid
from simgate.services import call_log, qualifications
from simgate.services.call_log import CallRow, QualifiedRow
from simgate.services.calls import click_to_call
from simgate.services.qualifications import OptionRow

MAX_NOTES = 2000  # characters, as a qualification typed in the dashboard
NO_PHONE_ONLINE = (
    "no phone of this account is online to place the call; start the simgate agent "
    "(or inSIM) on the phone and check that it is paired"
)


def call_fields(call: Call, row: CallRow) -> dict[str, Any]:
    call_id = object_id(row.id)
    return {
        "id": call_id,
        "call_id": call_id,
        "type": call_type(row.kind),
        "phone_number": row.phone_number,
        "duration": duration_seconds(row.duration),
        "call_time": call.local(row.call_time),
        "qualified": row.qualified,
    }


def option_fields(row: OptionRow) -> dict[str, Any]:
    option_id = object_id(row.id)
    return {"_id": option_id, "id": option_id, "option_id": option_id, "label": row.label}


def _cursor(page: call_log.Page[Any], at: Callable[[Any], datetime]) -> str | None:
    """The next page's cursor: the last row's time (`at`) and id."""
    if not page.has_more or not page.rows:
        return None
    last = page.rows[-1]
    return keyset.encode(at(last), last.id)


@endpoint("calls")
async def list_calls(call: Call) -> dict[str, Any]:
    params = call.params
    kind = params.choice("type", ("all", *CALL_TYPES), "all")
    types = None if kind == "all" else (cast(CallType, kind),)
    # Sibling clients filter on `qualified` (true/false); absent or null: all.
    qualified = None if params.data.get("qualified") is None else params.boolean("qualified")
    page = await call.sync(
        call_log.list_calls,
        call.runtime.engine,
        call.account.id,
        params.limit(10),
        types,
        params.phone("phone_number", required=False),
        params.date("date_from"),
        params.date("date_to", end=True),
        qualified,
        keyset.time_and_id(call),
    )
    return {
        "calls": [call_fields(call, row) for row in page.rows],
        "next_cursor": _cursor(page, lambda row: row.call_time),
        "has_more": page.has_more,
    }


@endpoint("calls/qualify")
async def qualify(call: Call) -> dict[str, Any]:
    params = call.params
    call_id = params.id("call_id", wide=True)
    option_id = params.id("option_id")
    notes = params.text("notes", max_length=MAX_NOTES).strip()
    done = await call.sync(
        qualifications.qualify_with_option,
        call.runtime.engine,
        call.account,
        call_id,
        option_id,
        notes,
        call.runtime.clock,
    )
    return {
        "qualification": {
            "id": object_id(done.id),
            "call_id": object_id(done.call_id),
            "phone_number": done.phone_number,
            "option_id": object_id(done.option.id),
            "label": done.option.label,
            "notes": done.notes,
            "source": "interface",
            "date": call.local(done.created_at),
        }
    }


@endpoint("clictocall")
async def clictocall(call: Call) -> dict[str, Any]:
    phone = call.params.phone("phone_number")
    assert phone is not None
    # v1's path: the dialer hands a `dial` command to an online phone.
    (item,) = await click_to_call(call.runtime.dialer, call.account, phone)
    if "#002" in item["errors"]:
        raise Conflict(NO_PHONE_ONLINE)
    if item["errors"]:  # #003: the number; already checked above
        raise Invalid("phone_number", item["info"])
    return {"phone_number": phone, "status": "dialing"}


def qualification_fields(call: Call, row: QualifiedRow) -> dict[str, Any]:
    qualification_id = object_id(row.id)
    return {
        "id": qualification_id,
        "qualification_id": qualification_id,
        "call_id": object_id(row.call_id) if row.call_id is not None else None,
        "phone_number": row.from_number,
        "label": row.text,
        "option_id": object_id(row.option_id) if row.option_id is not None else None,
        "notes": row.notes or "",
        "source": row.source,
        "date": call.local(row.created_at),
        "call_type": call_type(row.call_kind) if row.call_kind else None,
        "call_time": call.local(row.call_time),
        "duration": duration_seconds(row.call_duration) if row.call_duration else None,
    }


@endpoint("qualifications")
async def list_qualifications(call: Call) -> dict[str, Any]:
    params = call.params
    option_id = params.id("option_id") if params.data.get("option_id") not in (None, "") else None
    page = await call.sync(
        call_log.list_qualifications,
        call.runtime.engine,
        call.account.id,
        params.limit(10),
        params.phone("phone_number", required=False),
        option_id,
        params.date("date_from"),
        params.date("date_to", end=True),
        keyset.time_and_id(call),
    )
    return {
        "qualifications": [qualification_fields(call, row) for row in page.rows],
        "next_cursor": _cursor(page, lambda row: row.created_at),
        "has_more": page.has_more,
    }


@endpoint("qualifications/options")
async def list_options(call: Call) -> dict[str, Any]:
    rows = await call.sync(qualifications.list_options, call.runtime.engine, call.account.id)
    return {"options": [option_fields(row) for row in rows]}


@endpoint("qualifications/options/create")
async def create_option(call: Call) -> dict[str, Any]:
    label = call.params.name("label", required=True)
    row = await call.sync(
        qualifications.create_option,
        call.runtime.engine,
        call.account.id,
        label,
        call.runtime.clock,
    )
    return {"option_id": object_id(row.id), "option": option_fields(row)}


@endpoint("qualifications/options/update")
async def update_option(call: Call) -> dict[str, Any]:
    option_id = call.params.id("option_id")
    label = call.params.name("label", required=True)
    row = await call.sync(
        qualifications.update_option, call.runtime.engine, call.account.id, option_id, label
    )
    return {"option": option_fields(row)}


@endpoint("qualifications/options/delete")
async def delete_option(call: Call) -> dict[str, Any]:
    option_id = call.params.id("option_id")
    row = await call.sync(
        qualifications.delete_option,
        call.runtime.engine,
        call.account.id,
        option_id,
        call.runtime.clock,
    )
    return {"deleted": True, "option": option_fields(row)}


@endpoint("qualifications/stats")
async def qualification_stats(call: Call) -> dict[str, Any]:
    params = call.params
    since = params.date("date_from")
    until = params.date("date_to", end=True)
    stats = await call.sync(
        call_log.qualification_stats, call.runtime.engine, call.account.id, since, until
    )
    return {
        "date_from": params.text("date_from").strip() or None,
        "date_to": params.text("date_to").strip() or None,
        "total_calls": stats.total_calls,
        "qualified_calls": stats.qualified_calls,
        "qualification_rate": stats.qualification_rate,
        "by_type": stats.by_type,
        "qualified_by_type": stats.qualified_by_type,
        "by_option": [
            {
                "label": count.label,
                "option_id": object_id(count.option_id) if count.option_id is not None else None,
                "count": count.count,
            }
            for count in stats.by_label
        ],
    }
