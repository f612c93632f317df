"""v2 `sendsms`: its per-message results made from v1's answers, and the
client's clock stamps in `date_to_send`.

Pure, no I/O. Messages are judged and stored by the v1 path
(services/messages.py); v2 only reshapes each answer: `sent` 1/0, the
message's `sms_id` and, for a refused one, the contract's `error_code` and the
`field` at fault, made from v1's per-message codes (domain/refusals.V2_ERRORS).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from simgate._wire import SMS_ERRORS
from simgate.domain.dates import InvalidDate, parse_send_date
from simgate.domain.refusals import V2_ERRORS

# The official client stamps every send with its own clock: naive local time
# with a `T` and microseconds. A person or a scheduler never writes
# microseconds, and the client's zone is unknown here; read in the account's
# zone, a client east of the account would schedule its "now" hours ahead.
_CLOCK_STAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{1,6}")
# The furthest a client's zone can be ahead of the account's (UTC+14 vs UTC).
CLOCK_STAMP_AHEAD = timedelta(hours=14)


def is_client_clock_stamp(raw: Any, tz: ZoneInfo, now: datetime) -> bool:
    """True when `raw` is a client's naive "now" (see above): a naive ISO time
    with fractional seconds no more than 14 hours ahead of `now` (naive UTC)."""
    if not isinstance(raw, str) or not _CLOCK_STAMP.fullmatch(raw.strip()):
        return False
    try:
        moment = parse_send_date(raw, tz)
    except InvalidDate:
        return False
    return moment is not None and moment <= now + CLOCK_STAMP_AHEAD


def result(index: int, answer: dict[str, Any]) -> dict[str, Any]:
    """The v2 result of message `index` from its v1 answer."""
    item: dict[str, Any] = {
        "sent": answer["sent"],
        "sms_id": answer["id_sms_api"] or None,
        "phone_number": answer["phone_number"],
        "message": answer["message"],
        "segments": answer["sms_per_message"],
    }
    codes: list[str] = answer.get("errors") or []
    if codes:
        code, field, error = refusal(index, codes[0])
        item.update(error=error, error_code=code, field=field, errors=codes)
    return item


def refusal(index: int, v1_code: str) -> tuple[str, str, str]:
    """(error_code, field, error) of message `index` refused with `v1_code`."""
    code, name = V2_ERRORS.get(v1_code, ("VALIDATION_ERROR", ""))
    field = f"messages[{index}]" + (f".{name}" if name else "")
    return code, field, f"{field}: {SMS_ERRORS.get(v1_code, v1_code)} ({v1_code})"
