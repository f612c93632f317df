"""The account dashboard under /app/: server-rendered pages, htmx for live parts.

`install(app)` is the one entry point: it adds the routes, the static files and
the page shown when a dashboard request is refused. The routes must be added
before the short-link router, which catches every other path at the root.
`make_state(settings, clock)` builds what the dashboard keeps in memory (sessions,
sign-in limits); the runtime holds it.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.config import Settings
from simgate.web import auth, campaigns, common, crm, manage, optouts, pages, policy, setup
from simgate.web.body_limit import BodyLimit
from simgate.web.security import (
    DeviceCookies,
    PasswordChecks,
    Sessions,
    SignInLimiter,
    session_secret,
)


def make_state(settings: Settings, clock: Clock = SYSTEM_CLOCK) -> common.WebState:
    secret = session_secret(settings)
    secure = settings.secure_cookies or (settings.public_url or "").startswith("https://")
    return common.WebState(
        sessions=Sessions(secret, secure=secure),
        limiter=SignInLimiter(clock=clock),
        devices=DeviceCookies(secret, secure=secure),
        checks=PasswordChecks(),
    )


def install(app: FastAPI) -> None:
    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, common.Refused)
        if exc.location and request.headers.get("HX-Request"):
            # A live part whose session ended: reload the whole page, not a fragment.
            return Response(status_code=200, headers={"HX-Redirect": exc.location})
        if exc.location:
            return common.redirect(request, exc.location)
        return common.render(request, "error.html", status_code=exc.status, message=exc.message)

    app.add_exception_handler(common.Refused, refused)
    app.add_middleware(
        BodyLimit,
        prefix="/app/",
        cap=common.MAX_FORM_BODY,
        caps={
            "/app/contacts/import": common.MAX_UPLOAD_BODY,
            "/app/optouts/import": common.MAX_UPLOAD_BODY,
        },
    )

    router = APIRouter(prefix="/app", include_in_schema=False)

    @router.get("")
    async def app_root() -> RedirectResponse:
        return RedirectResponse("/app/", status_code=307)

    guarded = APIRouter(dependencies=[Depends(common.check_query), Depends(common.check_csrf)])
    for module in (auth, pages, manage, crm, campaigns, optouts, setup, policy):
        guarded.include_router(module.router)
    router.include_router(guarded)
    app.include_router(router)
    app.mount("/app/static", StaticFiles(directory=common.HERE / "static"), name="app-static")
