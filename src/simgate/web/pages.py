"""Overview, messages, the send form and tracked links."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from simgate._wire import SMS_ERRORS
from simgate.domain.dates import InvalidDate, parse_send_date
from simgate.domain.sms import count_segments
from simgate.domain.states import MESSAGE_STATES
from simgate.errors import Invalid, NotFound
from simgate.services import dashboard, suppressions
from simgate.services.messages import accept_messages
from simgate.services.policy_holds import holds
from simgate.services.sending_policy import OPTED_OUT
from simgate.web import common
from simgate.web.common import Refused, Signed, signed_in

router = APIRouter()
Account = Annotated[Signed, Depends(signed_in)]

MAX_NUMBERS = 1000
MAX_TEXT = 5000


def chart(hours: list[tuple[datetime, int, int]], tz: ZoneInfo) -> dict[str, Any]:
    """Geometry of the sent/delivered per hour bar chart (drawn as inline SVG)."""
    width, height, left, bottom = 720, 180, 36, 22
    top = max([max(s, d) for _, s, d in hours] + [1])
    slot = (width - left) / max(len(hours), 1)
    plot = height - bottom - 8
    bars = []
    for i, (hour, sent, delivered) in enumerate(hours):
        x = left + i * slot
        label = hour.replace(tzinfo=UTC).astimezone(tz).strftime("%H")
        bars.append(
            {
                "x_sent": round(x + slot * 0.12, 1),
                "x_dlr": round(x + slot * 0.5, 1),
                "w": round(slot * 0.38, 1),
                "h_sent": round(plot * sent / top, 1),
                "h_dlr": round(plot * delivered / top, 1),
                "sent": sent,
                "delivered": delivered,
                "label": label,
                "label_x": round(x + slot / 2, 1),
            }
        )
    return {"width": width, "height": height, "base": height - bottom, "top": top, "bars": bars}


@router.get("/")
async def overview(request: Request, signed: Account) -> Response:
    runtime = common.runtime(request)
    data = await run_in_threadpool(
        dashboard.overview.overview, runtime.engine, signed.account, None, runtime.clock
    )
    held = await run_in_threadpool(holds, runtime.engine, signed.account, runtime.clock.now())
    template = "_overview.html" if request.headers.get("HX-Request") else "overview.html"
    return common.render(
        request,
        template,
        signed,
        data=data,
        chart=chart(data.hours, signed.account.tz),
        holds=[h for h in held if h.waiting],
    )


def _day(raw: str, tz: ZoneInfo, end: bool = False) -> tuple[datetime | None, str]:
    """A local date from a filter field → naive UTC bound; returns (bound, error)."""
    if not raw:
        return None, ""
    try:
        day = date.fromisoformat(raw) + timedelta(days=1 if end else 0)
        moment = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: 0001-01-01 or 9999-12-31 moved to UTC
        return None, "use a date like 2026-01-31"
    return moment.replace(tzinfo=None), ""


@router.get("/messages")
async def messages(request: Request, signed: Account) -> Response:
    q = request.query_params
    tz = signed.account.tz
    values = {k: q.get(k, "")[:64] for k in ("number", "state", "from", "to")}
    errors = {}
    since, errors["from"] = _day(values["from"], tz)
    until, errors["to"] = _day(values["to"], tz, end=True)
    if values["state"] and values["state"] not in MESSAGE_STATES:
        errors["state"] = "unknown state"
    filt = dashboard.messages.MessageFilter(values["number"], values["state"], since, until)
    page = await run_in_threadpool(
        dashboard.messages.list_messages,
        common.runtime(request).engine,
        signed.account.id,
        filt,
        common.page_link(request),
        signed.account.region,
    )
    query = urlencode({k: v for k, v in values.items() if v})
    opted_out = await run_in_threadpool(
        _opted_out, common.runtime(request).engine, signed, values["number"]
    )
    return common.render(
        request,
        "messages.html",
        signed,
        opted_out=opted_out,
        page=page,
        values=values,
        errors={k: v for k, v in errors.items() if v},
        states=MESSAGE_STATES,
        query=query,
    )


def _opted_out(engine: Any, signed: Signed, number: str) -> tuple[str, Any] | None:
    """The searched number's opt-out entry, when it is a whole number on the list:
    its refused sends are not messages, so the list says why they are missing."""
    if not number.strip():
        return None
    try:
        e164, entry = suppressions.check(engine, signed.account, number)
    except Invalid:
        return None
    return None if entry is None else (e164, entry)


@router.get("/messages/{message_id:id64}")
async def message(request: Request, message_id: int, signed: Account) -> Response:
    try:
        detail = await run_in_threadpool(
            dashboard.messages.message_detail,
            common.runtime(request).engine,
            signed.account.id,
            message_id,
        )
    except NotFound:
        raise Refused(404, "There is no such message in this account.") from None
    live = bool(request.headers.get("HX-Request"))
    seg = count_segments(detail.message.message)
    return common.render(
        request,
        "_timeline.html" if live else "message.html",
        signed,
        # 286 tells htmx to stop polling: nothing changes after received or failed.
        status_code=286 if live and detail.final else 200,
        d=detail,
        m=detail.message,
        seg=seg,
    )


# --- send --------------------------------------------------------------------------


def split_numbers(raw: str) -> list[str]:
    seen: dict[str, None] = {}
    for part in re.split(r"[\s,;]+", raw):
        if part:
            seen.setdefault(part, None)
    return list(seen)


@router.get("/send")
async def send_form(request: Request, signed: Account) -> Response:
    values = {"numbers": request.query_params.get("to", "")[:200], "text": "", "url": "", "at": ""}
    return common.render(
        request, "send.html", signed, values=values, errors={}, results=None, seg=None
    )


@router.post("/send")
async def send(request: Request, signed: Account) -> Response:
    values = _send_values(await common.form_of(request))
    account = signed.account
    numbers, errors = _check_send(values, account.tz)
    results = None
    stored = 0
    seg = count_segments(values["text"]) if values["text"] else None
    if not errors:
        runtime = common.runtime(request)
        eng = runtime.engine
        # Stored messages wake the dispatcher when they commit (runtime.py).
        answers, stored = await run_in_threadpool(
            accept_messages,
            eng,
            account,
            _send_items(numbers, values),
            runtime.public_url,
            runtime.clock,
        )
        ids = await run_in_threadpool(
            dashboard.messages.message_ids,
            eng,
            account.id,
            [a["id_sms_api"] for a in answers if a["sent"]],
        )
        results = _send_results(numbers, answers, ids, errors)
    status = 200 if stored or not errors else 400
    return common.render(
        request,
        "send.html",
        signed,
        status_code=status,
        values=values,
        errors=errors,
        results=results,
        stored=stored,
        seg=seg,
    )


def _send_values(form: FormData) -> dict[str, str]:
    """The send form's fields, bounded, as the page shows them back."""
    return {
        "numbers": common.field(form, "numbers", 40_000),
        # Browsers submit a textarea's new lines as CRLF; an SMS carries LF.
        "text": common.field(form, "text", MAX_TEXT * 2).replace("\r\n", "\n"),
        "url": common.field(form, "url", 2000).strip(),
        "at": common.field(form, "at", 40).strip(),
    }


def _check_send(values: dict[str, str], tz: ZoneInfo) -> tuple[list[str], dict[str, str]]:
    """(the numbers, errors by field) of the form as a whole; each message is judged later."""
    errors: dict[str, str] = {}
    numbers = split_numbers(values["numbers"])
    if not numbers:
        errors["numbers"] = "Enter at least one phone number."
    elif len(numbers) > MAX_NUMBERS:
        errors["numbers"] = f"At most {MAX_NUMBERS} numbers at once (use the API for more)."
    if not values["text"].strip():
        errors["text"] = "Write the message."
    elif len(values["text"]) > MAX_TEXT:
        errors["text"] = f"At most {MAX_TEXT} characters."
    if values["at"]:
        try:
            parse_send_date(values["at"], tz)
        except InvalidDate:
            errors["at"] = "Use a date and time like 2026-01-31 14:30."
    return numbers, errors


def _send_items(numbers: list[str], values: dict[str, str]) -> list[dict[str, Any]]:
    """One sendsms item per number, as the API would receive them."""
    return [
        {
            "phone_number": number,
            "message": values["text"],
            "url": values["url"] or None,
            "date_to_send": values["at"].replace("T", " ") if values["at"] else "",
        }
        for number in numbers
    ]


def _send_results(
    numbers: list[str],
    answers: list[dict[str, Any]],
    ids: dict[str, int],
    errors: dict[str, str],
) -> list[dict[str, Any]]:
    """One line per number for the page; the fields at fault go into `errors`."""
    results = []
    bad_numbers = []
    for number, answer in zip(numbers, answers, strict=True):
        codes = answer.get("errors", [])
        if "#001" in codes or "#002" in codes:
            bad_numbers.append(number)
        if "#006" in codes:
            errors["url"] = "Use a full web address starting with http:// or https://."
        results.append(
            {
                "number": answer["phone_number"] or number,
                "ok": bool(answer["sent"]),
                "parts": answer["sms_per_message"],
                "id": ids.get(answer["id_sms_api"]),
                "why": ", ".join(SMS_ERRORS.get(c, c) for c in codes),
                "opted_out": OPTED_OUT in codes,
            }
        )
    if bad_numbers:
        errors["numbers"] = "Not valid phone numbers: " + ", ".join(bad_numbers[:20])
    return results


# --- links ---------------------------------------------------------------------------


@router.get("/links")
async def links(request: Request, signed: Account) -> Response:
    eng = common.runtime(request).engine
    page = await run_in_threadpool(
        dashboard.links.list_links, eng, signed.account.id, common.page_link(request)
    )
    people, previews = await run_in_threadpool(dashboard.links.link_totals, eng, signed.account.id)
    return common.render(
        request,
        "links.html",
        signed,
        page=page,
        people=people,
        previews=previews,
        public_url=common.runtime(request).public_url,
    )
