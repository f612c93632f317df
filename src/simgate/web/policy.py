"""The "Sending policy" page (/app/policy): every setting of the account's
policy in one form (docs/policy.md), and why messages wait now."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from simgate.domain import policy_text
from simgate.domain.policy import FRENCH_MARKETING, windows_text
from simgate.services.policy import PolicyError, get_policy, update_policy
from simgate.services.policy_holds import holds
from simgate.web import common
from simgate.web.common import Signed, signed_in

router = APIRouter()
Account = Annotated[Signed, Depends(signed_in)]

TYPED = (
    "optout_keywords",
    "optin_keywords",
    "optout_reply",
    "optin_reply",
    "windows",
    "default_validity",
    "hourly_cap",
    "daily_cap",
    "missed_call_reply",
    "missed_call_period",
)
NOTICES = {
    "saved": "Sending policy saved.",
    "french": "The French operators' rule is filled in below: save to apply it.",
}


async def _page(
    request: Request,
    signed: Signed,
    status: int = 200,
    typed: dict[str, str] | None = None,
    switches: dict[str, bool] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
) -> Response:
    runtime = common.runtime(request)
    policy = await run_in_threadpool(get_policy, runtime.engine, signed.account)
    held = await run_in_threadpool(holds, runtime.engine, signed.account, runtime.clock.now())
    shown = policy_text.as_text(policy)
    return common.render(
        request,
        "policy.html",
        signed,
        status_code=status,
        values={**shown, **(typed or {})},
        switches=switches or {name: getattr(policy, name) for name in policy_text.SWITCHES},
        errors=errors or {},
        holds=held,
        notice=notice or NOTICES.get(request.query_params.get("done", ""), ""),
    )


@router.get("/policy")
async def policy_page(request: Request, signed: Account) -> Response:
    return await _page(request, signed)


@router.post("/policy")
async def save_policy(request: Request, signed: Account) -> Response:
    form = await common.form_of(request)
    typed = {name: common.field(form, name, policy_text.MAX_FIELD + 1) for name in TYPED}
    switches = {name: form.get(name) == "on" for name in policy_text.SWITCHES}
    if common.field(form, "action", 20) == "french":
        # Offered, never forced: the form is filled in, nothing is saved.
        typed["windows"] = windows_text(FRENCH_MARKETING)
        switches["skip_holidays"] = True
        return await _page(request, signed, 200, typed, switches, notice=NOTICES["french"])
    changes, errors = policy_text.parse_form(typed, switches)
    if not errors:
        try:
            await run_in_threadpool(_save, request, signed, changes)
        except PolicyError as exc:
            errors[exc.field] = exc.reason
    if errors:
        return await _page(request, signed, 400, typed, switches, errors)
    return common.redirect(request, "/app/policy?done=saved")


def _save(request: Request, signed: Signed, changes: dict[str, Any]) -> None:
    runtime = common.runtime(request)
    update_policy(runtime.engine, signed.account, runtime.clock, **changes)
