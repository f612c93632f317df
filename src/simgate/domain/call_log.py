"""Calls as v2 shows them: the client's type names and durations in seconds.

Pure, no I/O. Devices report a call's kind as `incoming_call`,
`outgoing_call` or `missed_call` (simgate._wire.CALL_KINDS) and its duration
as "HH:MM:SS" (hours may take up to three digits) or "0" (device protocol).
"""

from __future__ import annotations

import re
from typing import Literal, get_args

from simgate._wire import CallKind

CallType = Literal["incoming", "outgoing", "missed"]
CALL_TYPES: tuple[CallType, ...] = get_args(CallType)

KIND_OF_TYPE: dict[CallType, CallKind] = {
    "incoming": "incoming_call",
    "outgoing": "outgoing_call",
    "missed": "missed_call",
}
TYPE_OF_KIND: dict[str, CallType] = {kind: name for name, kind in KIND_OF_TYPE.items()}

_CLOCK = re.compile(r"([0-9]{1,3}):([0-5][0-9]):([0-5][0-9])")


def call_type(kind: str) -> CallType:
    return TYPE_OF_KIND[kind]


def duration_seconds(duration: str) -> int:
    """ "HH:MM:SS" as whole seconds; "0" (a missed call) or anything a device
    should not have sent is 0 rather than a lost row."""
    match = _CLOCK.fullmatch(duration.strip())
    if match is None:
        return 0
    hours, minutes, seconds = (int(part) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def rate(part: int, whole: int) -> float:
    """`part` as a percentage of `whole`, one decimal (0.0 when there is none)."""
    return round(100 * part / whole, 1) if whole else 0.0
