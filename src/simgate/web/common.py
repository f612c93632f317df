"""What every dashboard page shares: templates, the signed-in account, CSRF, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from simgate import __version__
from simgate.domain import cursors
from simgate.logs import bind_account
from simgate.runtime import Runtime, get_runtime
from simgate.services import sessions
from simgate.services.accounts import Account
from simgate.web.security import (
    DeviceCookies,
    PasswordChecks,
    Sessions,
    SignInLimiter,
    csrf_matches,
    new_csrf_token,
)

HERE = Path(__file__).parent
# Scripts and styles only from /app/static (no inline code to inject into), no
# framing (clickjacking), forms post only here; pages are never cached.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# Request bodies under /app/ are counted while they stream (web/body_limit.py) and
# refused with 413 past these: the largest form, the send form, is under 100 KB
# percent-encoded.
MAX_FORM_BODY = 256 * 1024
MAX_UPLOAD = 5 * 1024 * 1024  # a CSV of contacts can be a few megabytes
MAX_UPLOAD_BODY = MAX_UPLOAD + 64 * 1024  # with the CSRF field and the multipart framing
MAX_FIELDS = 50  # the largest form has 6
TOO_LARGE = (
    f"This request is larger than the dashboard accepts: forms up to {MAX_FORM_BODY // 1024} KB, "
    f"CSV files up to {MAX_UPLOAD // (1024 * 1024)} MB."
)

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,  # every value is escaped unless a template says otherwise
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=_env)


class RowId(Convertor[int]):
    """A row id in a dashboard path (`{id:id32}`, `{id:id64}`), bounded by its column.

    Past the column's range SQLite overflows and PostgreSQL refuses the query (a
    500): such an id becomes 0, which no row has, so the page answers its own 404.
    """

    regex = "[0-9]+"

    def __init__(self, bits: int) -> None:
        self.largest = 2 ** (bits - 1) - 1

    def convert(self, value: str) -> int:
        # Length first: int() of a few thousand digits is slow, and refused past 4300.
        return int(value) if len(value) <= 19 and int(value) <= self.largest else 0

    def to_string(self, value: int) -> str:
        return str(value)


# Registered on import, before the route modules (which import this one) compile
# their paths.
register_url_convertor("id32", RowId(32))  # Integer ids: keys, devices, contacts
register_url_convertor("id64", RowId(64))  # BigInteger ids: messages, calls, webhooks, sessions


@dataclass
class WebState:
    sessions: Sessions
    limiter: SignInLimiter
    devices: DeviceCookies
    checks: PasswordChecks


class Refused(Exception):
    """Ends a dashboard request early with a page (or a redirect) instead of JSON."""

    def __init__(self, status: int, message: str, location: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.location = location


def runtime(request: Request) -> Runtime:
    return get_runtime(request)


def state(request: Request) -> WebState:
    return get_runtime(request).web


def session_of(request: Request) -> dict[str, Any]:
    """The session (loaded once per request); always holds a CSRF token."""
    cached = getattr(request.state, "session", None)
    if cached is None:
        cached = state(request).sessions.load(request)
        if "csrf" not in cached:
            cached = {"csrf": new_csrf_token()}
            request.state.session_dirty = True
        request.state.session = cached
    return dict(cached)


@dataclass(frozen=True)
class Signed:
    """The signed-in account of a request, and the session it came with."""

    account: Account
    session_id: int


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def signed_in(request: Request) -> Signed:
    """FastAPI dependency: the account, or a redirect to the sign-in page."""
    cached: Signed | None = getattr(request.state, "signed", None)
    if cached is None:
        cached = request.state.signed = await _signed_in(request)
    return cached


async def _signed_in(request: Request) -> Signed:
    token = session_of(request).get("token")
    found = None
    if isinstance(token, str):
        found = await run_in_threadpool(
            sessions.find,
            runtime(request).engine,
            token,
            client_address(request),
            runtime(request).clock,
        )
    if found is None:  # signed out, ended elsewhere, expired, or a cookie from before
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise Refused(303, "sign in first", "/app/login?next=" + quote(target, safe="/"))
    bind_account(found.account.id)  # the request's log lines name it
    return Signed(found.account, found.id)


def holds_nul(items: Iterable[tuple[str, object]]) -> bool:
    """Whether a name or a text value holds NUL (uploaded files are not text)."""
    return any("\x00" in key or (isinstance(v, str) and "\x00" in v) for key, v in items)


async def check_query(request: Request) -> None:
    """Router dependency: no query parameter holds a NUL character.

    PostgreSQL refuses NUL in text (a 500) and SQLite would store it: refused
    here once for every page, on both stores alike.
    """
    if holds_nul(request.query_params.multi_items()):
        raise Refused(400, "This link holds a NUL character (%00), which no page accepts.")


async def check_csrf(request: Request) -> AsyncIterator[None]:
    """Router dependency: every state-changing request carries the session's token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        yield
        return
    if request.headers.get("content-type", "").lower().startswith("multipart/"):
        # Only an owner uploads: a visitor's file is never read, parsed or spooled.
        await signed_in(request)
    form = await form_of(request)
    try:
        if not csrf_matches(session_of(request), form.get("csrf_token")):
            raise Refused(
                403,
                "This form expired or did not come from this dashboard (missing or wrong CSRF "
                "token). Reload the page and try again.",
            )
        if holds_nul(form.multi_items()):
            raise Refused(
                400,
                "A field of this form holds a NUL character (\\0), which no field accepts. "
                "Remove it and send the form again.",
            )
        yield
    finally:
        await form.close()  # uploaded files are spooled to disk: remove them


async def form_of(request: Request) -> FormData:
    """The request's form, read once (check_csrf reads it first) with the dashboard's limits."""
    try:
        return await request.form(max_files=1, max_fields=MAX_FIELDS, max_part_size=MAX_FORM_BODY)
    except Refused:  # the body passed its cap while streaming
        raise
    except Exception:  # malformed multipart or urlencoded data, too many fields or files
        raise Refused(400, "The form could not be read. Reload the page and try again.") from None


def field(form: FormData, name: str, limit: int = 10_000) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def local(moment: datetime | None, tz: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    if moment is None:
        return ""
    try:
        return moment.replace(tzinfo=UTC).astimezone(tz).strftime(fmt)
    except OverflowError:  # a send time in 9999 is past the calendar's end in UTC+1
        return moment.strftime(fmt) + " UTC"


def render(
    request: Request,
    template: str,
    signed: Signed | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    session = session_of(request)
    tz = signed.account.tz if signed else ZoneInfo("UTC")
    response = templates.TemplateResponse(
        request,
        template,
        {
            "account": signed.account if signed else None,
            "csrf": session["csrf"],
            "path": request.url.path,
            "version": __version__,
            "local": lambda moment, fmt="%Y-%m-%d %H:%M:%S": local(moment, tz, fmt),
            **context,
        },
        status_code=status_code,
        headers=PAGE_HEADERS,
    )
    finish(request, response)
    return response


def redirect(request: Request, location: str) -> RedirectResponse:
    response = RedirectResponse(location, status_code=303)
    finish(request, response)
    return response


def finish(request: Request, response: Response) -> None:
    """Write the session cookie back when this request created or changed it."""
    if getattr(request.state, "session_dirty", False):
        state(request).sessions.save(response, request.state.session)


def replace_session(request: Request, data: dict[str, Any]) -> None:
    """Swap the whole session (sign-in, sign-out) with a fresh CSRF token."""
    request.state.session = {**data, "csrf": new_csrf_token()}
    request.state.session_dirty = True


def page_link(request: Request) -> str:
    """The list page a "newer"/"older" link points at (store/dashboard/common
    reads it; anything it does not recognise, an old `page=2` included, is the
    first page)."""
    raw = request.query_params.get("page", "")
    return raw if len(raw) <= cursors.MAX_CURSOR_LENGTH else ""
