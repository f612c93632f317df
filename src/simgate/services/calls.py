"""Click-to-call: hand a `dial` command to one of the account's online phones."""

from __future__ import annotations

from typing import Any, Protocol

from simgate.domain.numbers import InvalidNumber, to_e164
from simgate.services.accounts import Account

CONNECT_INFO = "please make sure the phone is connected and inSIM is running"


class Dialer(Protocol):
    async def dial(self, account_id: int, phone_number: str) -> bool:
        """Push a dial command to an online phone of the account; False if none."""
        ...


def _item(result: str, errors: list[str], info: str = CONNECT_INFO) -> list[dict[str, Any]]:
    return [{"info": info, "result": result, "errors": errors}]


async def click_to_call(dialer: Dialer, account: Account, raw_number: Any) -> list[dict[str, Any]]:
    """The reference's answer: success, or failed with #002 (no phone) / #003 (bad number)."""
    if not isinstance(raw_number, str) or not raw_number.strip():
        return _item("failed", ["#003"], "phone_number is missing or empty")
    try:
        number = to_e164(raw_number, account.region)
    except InvalidNumber:
        return _item("failed", ["#003"], f"phone_number {raw_number!r} is not a valid number")
    if await dialer.dial(account.id, number):
        return _item("success", [])
    return _item("failed", ["#002"])
