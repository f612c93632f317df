"""Sign-in, sign-out, and the Sessions page (where the owner ends sessions)."""

from __future__ import annotations

import logging
import re
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from simgate.services import sessions
from simgate.services.passwords import check_sign_in
from simgate.web import common

log = logging.getLogger(__name__)
router = APIRouter()
Account = Annotated[common.Signed, Depends(common.signed_in)]


# C0 and C1 controls and DEL: browsers drop tabs and new lines from URLs, so
# "/app/.\t./x" would reach "/x"; none belongs in a link anyway.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MAX_DECODES = 4  # deeper than any real link is ever encoded


def safe_next(raw: str) -> str:
    """Where a fresh sign-in goes: `raw` if it is a plain dashboard path, else /app/.

    Short links live at the root, so `/app/../CODE` would land on someone's
    tracked link, and `//host` or a backslash on another site. Browsers resolve
    dot segments percent-encoded too (`%2e%2e`), and a server in front may
    decode once more: every layer of decoding must pass.
    """
    text = raw
    for _ in range(_MAX_DECODES):
        if not _plain_dashboard_path(text):
            return "/app/"
        decoded = unquote(text)
        if decoded == text:
            return raw
        text = decoded
    return "/app/"


def _plain_dashboard_path(text: str) -> bool:
    path = re.split("[?#]", text, maxsplit=1)[0]
    return (
        text.startswith("/app/")
        and "//" not in text
        and "\\" not in text
        and not _CONTROL.search(text)
        and not any(segment in (".", "..") for segment in path.split("/"))
    )


@router.get("/login")
async def login_form(request: Request) -> Response:
    target = safe_next(request.query_params.get("next", ""))
    try:
        await common.signed_in(request)
    except common.Refused:
        pass
    else:  # already signed in: nothing to ask
        return common.redirect(request, target)
    return common.render(request, "login.html", next=target, errors={})


@router.post("/login")
async def login(request: Request) -> Response:
    form = await common.form_of(request)
    email = common.field(form, "email", 320).strip()
    password = common.field(form, "password", 4096)
    target = safe_next(common.field(form, "next", 2000))
    address = common.client_address(request)
    web = common.state(request)

    def again(status: int, errors: dict[str, str]) -> Response:
        return common.render(
            request, "login.html", status_code=status, email=email, next=target, errors=errors
        )

    errors = {}
    if not email:
        errors["email"] = "Enter the e-mail address of your account."
    if not password:
        errors["password"] = "Enter your password."
    if errors:
        return again(400, errors)
    device = web.devices.device(request, email)
    # With the line of password checks full, an attempt is turned away at once
    # rather than queued without end; a browser the owner signed in from still
    # queues (its own bucket allows 5 a minute), so strangers cannot keep it out.
    if web.checks.full and device is None:
        log.info("sign-in refused: too many at once", extra={"action": "login_busy"})
        busy = {"form": "The server is checking many sign-ins at once. Try again in a moment."}
        return with_retry_after(again(503, busy), 2)
    wait = web.limiter.reserve(email, address, device)
    if wait:
        log.info("sign-in refused: too many attempts", extra={"action": "login_limited"})
        limited = {"form": f"Too many failed sign-in attempts. Wait {wait} seconds and try again."}
        return with_retry_after(again(429, limited), wait)
    account_id = await web.checks.run(
        check_sign_in, common.runtime(request).engine, email, password
    )
    if account_id is None:
        return again(401, {"password": "Wrong e-mail address or password."})
    web.limiter.succeeded(email, device)
    await _end_this_session(request)
    token = await run_in_threadpool(
        sessions.start,
        common.runtime(request).engine,
        account_id,
        request.headers.get("user-agent", ""),
        address,
        common.runtime(request).clock,
    )
    # A new session (and CSRF token) on sign-in: a planted cookie is worth nothing.
    common.replace_session(request, {"token": token})
    response = common.redirect(request, target)
    web.devices.issue(response, email)
    return response


def with_retry_after(response: Response, seconds: int) -> Response:
    response.headers["Retry-After"] = str(seconds)
    return response


async def _end_this_session(request: Request) -> None:
    token = common.session_of(request).get("token")
    if isinstance(token, str):
        await run_in_threadpool(sessions.end, common.runtime(request).engine, token)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await _end_this_session(request)
    common.replace_session(request, {})
    return common.redirect(request, "/app/login")


# --- sessions ----------------------------------------------------------------------

NOTICES = {
    "ended": "Session ended: that browser must sign in again.",
    "others": "Signed out everywhere else.",
}


@router.get("/sessions")
async def session_list(request: Request, signed: Account) -> Response:
    runtime = common.runtime(request)
    rows = await run_in_threadpool(
        sessions.list_live, runtime.engine, signed.account.id, runtime.clock
    )
    return common.render(
        request,
        "sessions.html",
        signed,
        sessions=rows,
        current=signed.session_id,
        notice=NOTICES.get(request.query_params.get("done", ""), ""),
    )


@router.post("/sessions/{session_id:id64}/end")
async def end_session(request: Request, session_id: int, signed: Account) -> Response:
    ended = await run_in_threadpool(
        sessions.end_one, common.runtime(request).engine, signed.account.id, session_id
    )
    if not ended:
        raise common.Refused(404, "There is no such session in this account.")
    return common.redirect(request, "/app/sessions?done=ended")


@router.post("/sessions/end-others")
async def end_other_sessions(request: Request, signed: Account) -> Response:
    await run_in_threadpool(
        sessions.end_others, common.runtime(request).engine, signed.account.id, signed.session_id
    )
    return common.redirect(request, "/app/sessions?done=others")
