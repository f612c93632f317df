"""A message the send path refused, told the v2 way.

The send path (domain/messages.judge) names what is wrong with v1's `#00N`
codes; a v2 answer gives an `error_code`, the request field at fault and a
human text instead. Pure, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from simgate._wire import SMS_ERRORS


@dataclass(frozen=True, slots=True)
class Refusal:
    error_code: str  # MISSING_FIELD, VALIDATION_ERROR or RECIPIENT_OPTED_OUT
    field: str
    error: str


# v1 code → (v2 error_code, the message's field at fault; "" for the message itself).
# One table for every v2 path that sends (sendsms, templates/send, campaigns).
V2_ERRORS: dict[str, tuple[str, str]] = {
    "#001": ("VALIDATION_ERROR", "phone_number"),
    "#002": ("MISSING_FIELD", "phone_number"),
    "#003": ("MISSING_FIELD", "message"),
    "#004": ("VALIDATION_ERROR", "date_to_send"),
    "#005": ("VALIDATION_ERROR", "priority"),
    "#006": ("VALIDATION_ERROR", "url"),
    "#007": ("VALIDATION_ERROR", "id_sms_api"),
    "#008": ("VALIDATION_ERROR", "id_sms_api"),
    "#009": ("VALIDATION_ERROR", ""),
    "#010": ("VALIDATION_ERROR", "message"),
    "#011": ("VALIDATION_ERROR", "message"),
    "#012": ("RECIPIENT_OPTED_OUT", "phone_number"),
    "#013": ("VALIDATION_ERROR", "validity"),
    "#014": ("VALIDATION_ERROR", "sim"),
    "#015": ("VALIDATION_ERROR", "marketing"),
}


def from_codes(codes: list[str]) -> Refusal:
    """The first of a refused message's v1 codes, the v2 way."""
    code = codes[0] if codes else "#009"
    error_code, field = V2_ERRORS.get(code, ("VALIDATION_ERROR", ""))
    return Refusal(error_code, field or "messages", SMS_ERRORS.get(code, "refused"))
