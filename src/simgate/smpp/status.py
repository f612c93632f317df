"""SMPP command_status values: their names, a reason a user can read, and whether to retry.

Names and meanings are SMPP 3.4 §5.1.3 (smpp.md §13); the retry classes are
smpp.md §8: throttling pauses the link and resubmits, a temporary error
retries later (with the caller's cap), a permanent one fails the message.
Vendor codes 0x400-0x4FF mean what each provider says; they count as
temporary so that a provider-specific hiccup does not fail a message at once.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["ok", "throttled", "temporary", "permanent"]

ESME_ROK = 0x00
ESME_RMSGQFUL = 0x14
ESME_RTHROTTLED = 0x58

_STATUSES: dict[int, tuple[str, str]] = {
    0x00: ("ESME_ROK", "no error"),
    0x01: ("ESME_RINVMSGLEN", "message length is invalid"),
    0x02: ("ESME_RINVCMDLEN", "command length is invalid"),
    0x03: ("ESME_RINVCMDID", "invalid command id"),
    0x04: ("ESME_RINVBNDSTS", "incorrect bind status for this command"),
    0x05: ("ESME_RALYBND", "already bound"),
    0x06: ("ESME_RINVPRTFLG", "invalid priority flag"),
    0x07: ("ESME_RINVREGDLVFLG", "invalid registered delivery flag"),
    0x08: ("ESME_RSYSERR", "system error at the SMSC"),
    0x0A: ("ESME_RINVSRCADR", "invalid source address"),
    0x0B: ("ESME_RINVDSTADR", "invalid destination address"),
    0x0C: ("ESME_RINVMSGID", "message id is invalid"),
    0x0D: ("ESME_RBINDFAIL", "bind failed"),
    0x0E: ("ESME_RINVPASWD", "invalid password"),
    0x0F: ("ESME_RINVSYSID", "invalid system id"),
    0x11: ("ESME_RCANCELFAIL", "cancel_sm failed"),
    0x13: ("ESME_RREPLACEFAIL", "replace_sm failed"),
    0x14: ("ESME_RMSGQFUL", "message queue full"),
    0x15: ("ESME_RINVSERTYP", "invalid service type"),
    0x33: ("ESME_RINVNUMDESTS", "invalid number of destinations"),
    0x34: ("ESME_RINVDLNAME", "invalid distribution list name"),
    0x40: ("ESME_RINVDESTFLAG", "invalid destination flag"),
    0x42: ("ESME_RINVSUBREP", "invalid submit with replace request"),
    0x43: ("ESME_RINVESMCLASS", "invalid esm_class field data"),
    0x44: ("ESME_RCNTSUBDL", "cannot submit to distribution list"),
    0x45: ("ESME_RSUBMITFAIL", "submit_sm or submit_multi failed"),
    0x48: ("ESME_RINVSRCTON", "invalid source address TON"),
    0x49: ("ESME_RINVSRCNPI", "invalid source address NPI"),
    0x50: ("ESME_RINVDSTTON", "invalid destination address TON"),
    0x51: ("ESME_RINVDSTNPI", "invalid destination address NPI"),
    0x53: ("ESME_RINVSYSTYP", "invalid system_type field"),
    0x54: ("ESME_RINVREPFLAG", "invalid replace_if_present flag"),
    0x55: ("ESME_RINVNUMMSGS", "invalid number of messages"),
    0x58: ("ESME_RTHROTTLED", "throttling error: the link exceeded its allowed message rate"),
    0x61: ("ESME_RINVSCHED", "invalid scheduled delivery time"),
    0x62: ("ESME_RINVEXPIRY", "invalid message validity period"),
    0x63: ("ESME_RINVDFTMSGID", "predefined message invalid or not found"),
    0x64: ("ESME_RX_T_APPN", "ESME receiver temporary application error"),
    0x65: ("ESME_RX_P_APPN", "ESME receiver permanent application error"),
    0x66: ("ESME_RX_R_APPN", "ESME receiver reject message error"),
    0x67: ("ESME_RQUERYFAIL", "query_sm request failed"),
    0xC0: ("ESME_RINVOPTPARSTREAM", "error in the optional part of the PDU body"),
    0xC1: ("ESME_ROPTPARNOTALLWD", "optional parameter not allowed"),
    0xC2: ("ESME_RINVPARLEN", "invalid parameter length"),
    0xC3: ("ESME_RMISSINGOPTPARAM", "expected optional parameter missing"),
    0xC4: ("ESME_RINVOPTPARAMVAL", "invalid optional parameter value"),
    0xFE: ("ESME_RDELIVERYFAILURE", "delivery failure"),
    0xFF: ("ESME_RUNKNOWNERR", "unknown error"),
}

# smpp.md §8 "retry later": a full queue, the SMSC's own trouble, the
# receiver's temporary error, an unknown error (the caller caps the retries),
# and a bind state that a re-bind repairs.
_TEMPORARY = frozenset({0x04, 0x05, 0x08, 0x14, 0x64, 0xFF})
_VENDOR = range(0x400, 0x500)


def name(status: int) -> str:
    """ "ESME_RTHROTTLED", or "0x0000042A" for a vendor or unassigned value."""
    known = _STATUSES.get(status)
    return known[0] if known else f"0x{status:08X}"


def describe(status: int) -> str:
    """A failure reason for people: "ESME_RINVDSTADR (0x0000000B): invalid destination address"."""
    known = _STATUSES.get(status)
    if known:
        return f"{known[0]} (0x{status:08X}): {known[1]}"
    what = "vendor-specific error" if status in _VENDOR else "unassigned status"
    return f"0x{status:08X}: {what}"


def classify(status: int) -> Kind:
    """What a submit_sm_resp with this status means for the message (smpp.md §8)."""
    if status == ESME_ROK:
        return "ok"
    if status == ESME_RTHROTTLED:
        return "throttled"
    if status in _TEMPORARY or status in _VENDOR:
        return "temporary"
    return "permanent"
