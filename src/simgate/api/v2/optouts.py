"""v2 endpoints: the opt-out (STOP) list, simgate's extension
(docs/api-v2.md, "Opt-outs"; docs/policy.md). Changes made here are recorded
with reason `api`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from simgate.api.v2.envelope import Call, endpoint
from simgate.domain import cursors
from simgate.errors import Invalid, Missing
from simgate.services import suppressions
from simgate.services.suppressions import MAX_NUMBERS_PER_CALL, Change, Entry, Event

DEFAULT_PAGE = 100
MAX_PAGE = 1000
MAX_CURSOR_NUMBER = 32


def entry_object(call: Call, entry: Entry) -> dict[str, Any]:
    return {
        "phone_number": entry.phone_number,
        "reason": entry.reason,
        "detail": entry.detail,
        "since": call.local(entry.since),
    }


def event_object(call: Call, event: Event) -> dict[str, Any]:
    return {
        "action": event.action,
        "reason": event.reason,
        "detail": event.detail,
        "date": call.local(event.at),
    }


def _after(call: Call) -> tuple[datetime, str] | None:
    values = call.params.cursor(2)
    if values is None:
        return None
    moment, number = values
    try:
        when = datetime.fromisoformat(moment) if isinstance(moment, str) else None
    except ValueError:
        when = None
    if when is None or not isinstance(number, str) or len(number) > MAX_CURSOR_NUMBER:
        raise Invalid("cursor", "cursor: not a cursor this server gave")
    return when.replace(tzinfo=None), number


@endpoint("optouts")
@endpoint("optouts/list")
async def list_optouts(call: Call) -> dict[str, Any]:
    """Newest first; `search`: numbers starting with it; `cursor`/`limit` as other lists."""
    limit = call.params.limit(DEFAULT_PAGE, maximum=MAX_PAGE)
    search = call.params.text("search", max_length=40)
    after = _after(call)
    rows, more = await call.sync(
        suppressions.page, call.runtime.engine, call.account, after, limit, search
    )
    last = rows[-1] if rows and more else None
    return {
        "optouts": [entry_object(call, row) for row in rows],
        "next_cursor": None
        if last is None
        else cursors.encode(last.since.isoformat(), last.phone_number),
        "has_more": more,
    }


def _numbers(call: Call) -> list[Any]:
    values = call.params.array("phone_numbers", max_items=MAX_NUMBERS_PER_CALL, required=True)
    if not values:
        raise Missing("phone_numbers", "phone_numbers must hold at least one number")
    return values


def _change_answer(change: Change, done: str, idle: str) -> dict[str, Any]:
    return {done: change.changed, idle: change.unchanged}


@endpoint("optouts/add")
async def add(call: Call) -> dict[str, Any]:
    """{"phone_numbers": [...], "note"}: all numbers checked first (one bad
    number changes nothing, VALIDATION_ERROR names it)."""
    return await _change(call, suppressions.add, "added", "already_opted_out")


@endpoint("optouts/remove")
async def remove(call: Call) -> dict[str, Any]:
    return await _change(call, suppressions.remove, "removed", "not_opted_out")


async def _change(
    call: Call, change: Callable[..., Change], done: str, unchanged: str
) -> dict[str, Any]:
    """optouts/add or optouts/remove: `change` (the service) made by the API."""
    numbers = _numbers(call)
    note = call.params.text("note", max_length=suppressions.MAX_NOTE)
    runtime = call.runtime
    result = await call.sync(
        change, runtime.engine, call.account, numbers, "api", note, runtime.clock
    )
    return _change_answer(result, done, unchanged)


@endpoint("optouts/check")
async def check(call: Call) -> dict[str, Any]:
    """{"phone_number"} → on the list or not, since when, why; and its history."""
    raw = call.params.text("phone_number", required=True, max_length=64)
    number, entry, events = await call.sync(
        suppressions.history, call.runtime.engine, call.account, raw, 20
    )
    return {
        "phone_number": number,
        "opted_out": entry is not None,
        "since": None if entry is None else call.local(entry.since),
        "reason": None if entry is None else entry.reason,
        "detail": None if entry is None else entry.detail,
        "history": [event_object(call, e) for e in events],
    }
