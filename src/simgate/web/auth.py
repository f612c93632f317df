"""Sign-in and sign-out."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from simgate.store.tables import accounts
from simgate.web import common
from simgate.web.passwords import verify_password
from simgate.web.security import password_fingerprint

log = logging.getLogger(__name__)
router = APIRouter()


def safe_next(raw: str) -> str:
    """Only a dashboard path: never send a fresh sign-in to another site."""
    if raw.startswith("/app/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/app/"


def _check(eng: Any, email: str, password: str) -> Any:
    with eng.connect() as conn:
        row = conn.execute(
            select(accounts.c.id, accounts.c.password_hash).where(accounts.c.email == email)
        ).first()
    # verify_password runs argon2 even for an unknown e-mail: same cost, no hint.
    ok = verify_password(row.password_hash if row else None, password)
    return row if ok and row is not None else None


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
    address = request.client.host if request.client else "unknown"
    limiter = common.state(request).limiter

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
    wait = limiter.retry_after(email, address)
    if wait:
        log.info("sign-in refused: too many failed attempts", extra={"action": "login_limited"})
        response = again(
            429,
            {"form": f"Too many failed sign-in attempts. Wait {wait} seconds and try again."},
        )
        response.headers["Retry-After"] = str(wait)
        return response
    row = await run_in_threadpool(_check, common.engine(request), email, password)
    if row is None:
        limiter.failed(email, address)
        return again(401, {"password": "Wrong e-mail address or password."})
    limiter.succeeded(email)
    # A new session (and CSRF token) on sign-in: a planted cookie is worth nothing.
    common.replace_session(
        request, {"account": int(row.id), "pw": password_fingerprint(row.password_hash)}
    )
    return common.redirect(request, target)


@router.post("/logout")
async def logout(request: Request) -> Response:
    common.replace_session(request, {})
    return common.redirect(request, "/app/login")
