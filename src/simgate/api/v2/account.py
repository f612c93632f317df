"""v2 endpoints: account and account/webhooks (docs/api-v2.md)."""

from __future__ import annotations

from typing import Any

from simgate.api.v2.envelope import Call, endpoint
from simgate.errors import Invalid
from simgate.services import webhook_admin
from simgate.services.account_info import account_summary

# A self-hosted gateway has no credits: this stands for "no limit" (DESIGN 9).
UNLIMITED_CREDITS = 1_000_000
PLAN = "self-hosted"

# v2's webhook names → simgate's (and v1's) webhook kinds.
WEBHOOK_NAMES = {
    "incoming_sms": "message",
    "delivery_status": "status",
    "link_clicks": "clics",
    "call_events": "calls",
    "call_qualifications": "qualification",
}


@endpoint("account")
async def account(call: Call) -> dict[str, Any]:
    acc = call.account
    summary = await call.sync(account_summary, call.runtime.engine, acc, call.runtime.clock)
    return {
        "account": {
            "id": str(acc.id),
            "login": acc.email,
            # the field set `login` and `whoami` read
            "product": PLAN,
            "sms_credits": UNLIMITED_CREDITS,
            "country_code": acc.region,
            "active": True,
            "devices_connected": summary.devices_online,
            # the field set `account info` reads
            "plan": PLAN,
            "credits": UNLIMITED_CREDITS,
            "options": {
                "timezone": acc.timezone,
                "region": acc.region,
                "webhook_signing": summary.signing,
                "devices_paired": summary.devices_paired,
            },
        }
    }


@endpoint("account/webhooks")
async def webhooks(call: Call) -> dict[str, Any]:
    """Set the callback URLs: `""` (or absent) leaves one unchanged, null
    clears it. `{"action": "get"}` only reads them."""
    params = call.params
    action = params.choice("action", ("get", "set"), "set")
    changes: dict[str, str] = {}
    if action == "set":
        given = params.data.get("webhooks")
        if not isinstance(given, dict):
            raise Invalid("webhooks", "webhooks must be an object of the five URLs")
        for name, kind in WEBHOOK_NAMES.items():
            field = f"webhooks.{name}"
            value = given.get(name, "")
            if value is None:
                changes[kind] = ""  # null clears
            elif not isinstance(value, str):
                raise Invalid(field, f"{field} must be a URL string or null")
            elif value.strip():
                try:
                    changes[kind] = webhook_admin.validate_callback_url(
                        value, call.runtime.settings.allow_private_callbacks
                    )
                except ValueError as error:
                    raise Invalid(field, f"{field}: {error}") from None
    urls = await call.sync(
        webhook_admin.set_callbacks,
        call.runtime.engine,
        call.account.email,
        changes,
        call.runtime.settings.allow_private_callbacks,
    )
    return {"webhooks": {name: urls.get(kind) or "" for name, kind in WEBHOOK_NAMES.items()}}
