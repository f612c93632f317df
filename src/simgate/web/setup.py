"""Account set-up pages: webhooks, devices (phones) and API keys."""

from __future__ import annotations

import json
import re
from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Request
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from simgate._wire import WEBHOOK_KINDS
from simgate.domain.states import DELIVERY_STATES
from simgate.errors import NotFound
from simgate.services import dashboard, webhook_admin
from simgate.services.accounts import create_key, list_keys, revoke_key
from simgate.services.devices import (
    DEFAULT_RATE,
    KINDS,
    add_device,
    list_devices,
    remove_device,
    set_default_sim,
)
from simgate.services.mobile import api_url, cleartext_refused
from simgate.web import common
from simgate.web.common import Refused, Signed, signed_in

router = APIRouter()
Account = Annotated[Signed, Depends(signed_in)]

NOTICES = {
    "urls": "Callback URLs saved.",
    "secret": "New signing secret saved: deliveries from now on are signed with it.",
    "nosecret": "Signing secret removed: deliveries are no longer signed.",
    "replayed": "Delivery queued again.",
    "removed": "Device removed; its token no longer works.",
    "sim": "Default SIM saved: messages that name no SIM leave from it.",
    "revoked": "Key revoked; requests with it are refused from now on.",
}
LABELS = {
    "message": "Incoming SMS (message)",
    "calls": "Calls (calls)",
    "clics": "Link clicks (clics)",
    "qualification": "Call qualifications (qualification)",
    "status": "Delivery reports (status)",
}


def notice(request: Request) -> str:
    return NOTICES.get(request.query_params.get("done", ""), "")


# --- webhooks -------------------------------------------------------------------------


async def _webhooks_page(
    request: Request,
    signed: Signed,
    status: int = 200,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    eng = common.runtime(request).engine
    urls, secret = await run_in_threadpool(
        dashboard.webhooks.webhook_settings, eng, signed.account.id
    )
    state = request.query_params.get("state", "")
    page = await run_in_threadpool(
        dashboard.webhooks.list_deliveries,
        eng,
        signed.account.id,
        state,
        common.page_link(request),
    )
    return common.render(
        request,
        "webhooks.html",
        signed,
        status_code=status,
        urls=typed or urls,
        secret=secret,
        labels=LABELS,
        errors=errors or {},
        page=page,
        state=state if state in DELIVERY_STATES else "",
        states=DELIVERY_STATES,
        notice=notice(request),
    )


@router.get("/webhooks")
async def webhooks(request: Request, signed: Account) -> Response:
    return await _webhooks_page(request, signed)


@router.post("/webhooks")
async def save_urls(request: Request, signed: Account) -> Response:
    form = await common.form_of(request)
    urls = {kind: common.field(form, kind, 2100).strip() for kind in WEBHOOK_KINDS}
    allow = common.runtime(request).settings.allow_private_callbacks
    errors = {}
    for kind, url in urls.items():
        try:
            webhook_admin.validate_callback_url(url, allow)
        except ValueError as exc:
            errors[kind] = str(exc)
    if errors:
        return await _webhooks_page(request, signed, 400, errors, urls)
    await run_in_threadpool(
        webhook_admin.set_callbacks,
        common.runtime(request).engine,
        signed.account.email,
        urls,
        allow,
    )
    return common.redirect(request, "/app/webhooks?done=urls")


@router.post("/webhooks/secret")
async def secret(request: Request, signed: Account) -> Response:
    form = await common.form_of(request)
    remove = common.field(form, "action", 20) == "remove"
    eng = common.runtime(request).engine
    if remove:
        await run_in_threadpool(dashboard.webhooks.clear_webhook_secret, eng, signed.account.id)
    else:
        await run_in_threadpool(webhook_admin.signing_secret, eng, signed.account.email, True)
    return common.redirect(request, "/app/webhooks?done=" + ("nosecret" if remove else "secret"))


@router.post("/webhooks/{delivery_id:id64}/replay")
async def replay(request: Request, delivery_id: int, signed: Account) -> Response:
    eng = common.runtime(request).engine
    # The shared replay looks a delivery up by id alone: check the owner first.
    mine = await run_in_threadpool(
        dashboard.webhooks.finished_delivery, eng, signed.account.id, delivery_id
    )
    if not mine:
        raise Refused(404, "There is no finished delivery with this id in this account.")
    try:
        clock = common.runtime(request).clock
        await run_in_threadpool(webhook_admin.replay, eng, str(delivery_id), None, clock)
    except ValueError as exc:
        raise Refused(409, f"Cannot replay: {exc}.") from None
    return common.redirect(request, "/app/webhooks?done=replayed")


# --- devices ---------------------------------------------------------------------------


def pairing_qr(server: str, token: str) -> Markup:
    """An SVG QR code holding what a phone needs to connect: server URL and token."""
    payload = json.dumps({"server": server, "token": token}, separators=(",", ":"))
    return text_qr(payload, "simgate pairing code")


def text_qr(text: str, title: str) -> Markup:
    """An SVG QR code of `text` as is: a phone's camera offers to copy it."""
    svg = segno.make(text, error="m").svg_inline(scale=4, title=title)
    return Markup(svg)  # segno's own markup: paths only, the payload is not in the text


def _paired(server: str, name: str, kind: str, device_id: int, secret: str) -> dict[str, object]:
    """What the page shows once, right after pairing."""
    if kind == "smsgate":
        url = api_url(server)
        return {
            "id": device_id,
            "name": name,
            "kind": kind,
            "api_url": url,
            "private_token": secret,
            "cleartext_refused": cleartext_refused(url),
            "qr_url": text_qr(url, "API URL"),
            "qr_token": text_qr(secret, "Private Token"),
        }
    return {
        "id": device_id,
        "name": name,
        "kind": kind,
        "token": secret,
        "server": server,
        "qr": pairing_qr(server, secret),
    }


async def _devices_page(
    request: Request, signed: Signed, status: int = 200, **extra: object
) -> Response:
    runtime = common.runtime(request)
    rows = await run_in_threadpool(
        list_devices, runtime.engine, signed.account.email, runtime.clock
    )
    template = "_devices.html" if request.headers.get("HX-Request") else "devices.html"
    context: dict[str, object] = {
        "values": {"name": "", "rate": str(DEFAULT_RATE), "kind": "agent"},
        "errors": {},
        "paired": None,
        "notice": notice(request),
    }
    context.update(extra)
    return common.render(request, template, signed, status_code=status, devices=rows, **context)


@router.get("/devices")
async def devices(request: Request, signed: Account) -> Response:
    return await _devices_page(request, signed)


def parse_rate(raw: str) -> int | None:
    """SMS per minute, 1 to 10000, or None."""
    text = raw.strip()
    # [0-9], not str.isdigit(): "²" is a digit to isdigit() and not to int().
    return int(text) if re.fullmatch("[0-9]{1,5}", text) and 1 <= int(text) <= 10_000 else None


@router.post("/devices")
async def pair(request: Request, signed: Account) -> Response:
    form = await common.form_of(request)
    values = {
        "name": common.field(form, "name", 200).strip(),
        "rate": common.field(form, "rate"),
        "kind": common.field(form, "kind", 20) or "agent",
    }
    errors = {}
    if not values["name"]:
        errors["name"] = "Give the phone a name, e.g. “Office phone”."
    rate = parse_rate(values["rate"])
    if rate is None:
        errors["rate"] = "A whole number of SMS per minute, from 1 to 10000."
    if values["kind"] not in KINDS:
        errors["kind"] = "Choose how the phone connects."
    if errors or rate is None:
        return await _devices_page(request, signed, 400, values=values, errors=errors)
    runtime = common.runtime(request)
    device_id, secret = await run_in_threadpool(
        add_device,
        runtime.engine,
        signed.account.email,
        values["name"],
        rate,
        values["kind"],
        clock=runtime.clock,
    )
    paired = _paired(runtime.public_url, values["name"], values["kind"], device_id, secret)
    # Rendered, not redirected: the token is shown this once and never put in a URL.
    return await _devices_page(request, signed, paired=paired)


@router.post("/devices/{device_id:id32}/remove")
async def unpair(request: Request, device_id: int, signed: Account) -> Response:
    try:
        runtime = common.runtime(request)
        await run_in_threadpool(
            remove_device, runtime.engine, device_id, signed.account.email, runtime.clock
        )
    except NotFound:
        raise Refused(404, "There is no such device in this account.") from None
    return common.redirect(request, "/app/devices?done=removed")


@router.post("/devices/{device_id:id32}/sim")
async def default_sim(request: Request, device_id: int, signed: Account) -> Response:
    """The SIM the device sends from when a message names none (empty: the phone's choice)."""
    form = await common.form_of(request)
    raw = common.field(form, "sim", 2).strip()
    if raw and not re.fullmatch("[1-8]", raw):
        raise Refused(400, "A SIM is a slot number from 1 to 8, or the phone's choice.")
    try:
        runtime = common.runtime(request)
        await run_in_threadpool(
            set_default_sim,
            runtime.engine,
            signed.account.email,
            device_id,
            int(raw) if raw else None,
        )
    except NotFound:
        raise Refused(404, "There is no such device in this account.") from None
    return common.redirect(request, "/app/devices?done=sim")


# --- API keys ----------------------------------------------------------------------------


async def _keys_page(request: Request, signed: Signed, new_key: str | None = None) -> Response:
    rows = await run_in_threadpool(list_keys, common.runtime(request).engine, signed.account.email)
    return common.render(
        request, "keys.html", signed, keys=rows, new_key=new_key, notice=notice(request)
    )


@router.get("/keys")
async def keys(request: Request, signed: Account) -> Response:
    return await _keys_page(request, signed)


@router.post("/keys")
async def new_key(request: Request, signed: Account) -> Response:
    key = await run_in_threadpool(create_key, common.runtime(request).engine, signed.account.email)
    return await _keys_page(request, signed, new_key=key)


@router.post("/keys/{key_id:id32}/revoke")
async def revoke(request: Request, key_id: int, signed: Account) -> Response:
    try:
        await run_in_threadpool(
            revoke_key, common.runtime(request).engine, signed.account.email, key_id
        )
    except NotFound:
        raise Refused(404, "There is no active key with this id in this account.") from None
    return common.redirect(request, "/app/keys?done=revoked")
