"""Device protocol version 1: the frames and their checks.

docs/device-protocol.md is the human-readable contract; this module is its
executable twin, used by both the server and the reference agent. No I/O.

Frames from devices are parsed once, here, into frozen types whose every field
has been checked (type, size, range, no NUL): whatever a device sends, the rest
of the server never sees a value the store could refuse, and `parse_device_frame`
raises nothing but `FrameError`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from simgate._wire import CALL_KINDS
from simgate.device import fastjson
from simgate.domain import dates
from simgate.domain.policy import MAX_SIM

VERSION = 1
PATH = "/api/devices/v1/ws"

# Close codes (4000-4999 are for applications).
CLOSE_BAD_TOKEN = 4001
CLOSE_BAD_VERSION = 4002
CLOSE_REPLACED = 4003  # the same device connected again elsewhere
CLOSE_NO_HELLO = 4004
CLOSE_TOO_SLOW = 4005  # the device let the server's frames pile up unread

# The agent's WebSocket library refuses bigger messages, and no report needs
# more: the longest SMS (255 parts) is under 160 KB of UTF-8.
MAX_FRAME_BYTES = 1024 * 1024
# Longest text a report may carry: a 255-part GSM-7 SMS, with room to spare.
MAX_TEXT = 40_000
MAX_NUMBER = 32  # what the store keeps for a sender or caller (alphanumeric senders too)
MAX_REASON = 500
MAX_AGENT = 200
MAX_CAPABILITIES = 16
CAPABILITIES = frozenset({"sms", "call"})
# Report times outside these bounds are a broken clock: the server's time is used.
EARLIEST, LATEST = dates.EARLIEST, dates.LATEST

DURATION_RE = re.compile(r"(0|[0-9]{1,3}:[0-5][0-9]:[0-5][0-9])")
REF_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")
# <message id>.<attempt>: ASCII digits only (str.isdigit accepts "²"), and
# small enough for a 64-bit column.
COMMAND_ID_RE = re.compile(r"([0-9]{1,18})\.([0-9]{1,6})")
# A dial command's id: a call is not a stored message, so it has no
# <message id>.<attempt>; the device acks it like any command.
DIAL_ID_RE = re.compile(r"call_[0-9a-f]{16}")


class FrameError(ValueError):
    """A frame the receiver cannot use; `code` goes into the error frame."""

    def __init__(self, code: str, reason: str, ref: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.ref = ref


# --- server → device ---------------------------------------------------------


def welcome(device_id: int, heartbeat: float, lease: float) -> dict[str, Any]:
    return {
        "type": "welcome",
        "protocol": VERSION,
        "device_id": device_id,
        "heartbeat": heartbeat,
        "lease": lease,
    }


def command_id(message_id: int, attempt: int) -> str:
    """The id of one send attempt: a repeat hand-over keeps it (the device
    dedupes), a retry after a failed send gets a new one."""
    return f"{message_id}.{attempt}"


def parse_command_id(raw: str) -> tuple[int, int] | None:
    match = COMMAND_ID_RE.fullmatch(raw)
    if match is None:
        return None
    return int(match[1]), int(match[2])


def send_sms(
    message_id: int,
    attempt: int,
    to: str,
    text: str,
    *,
    valid_until: datetime | None = None,
    sim: int | None = None,
) -> dict[str, Any]:
    """`valid_until` (naive UTC: not worth sending after) and `sim` (the
    1-based slot to send from) only when there are: older agents ignore them."""
    frame: dict[str, Any] = {
        "type": "send_sms",
        "id": command_id(message_id, attempt),
        "to": to,
        "text": text,
    }
    if valid_until is not None:
        frame["valid_until"] = dates.iso_z(valid_until)
    if sim is not None:
        frame["sim"] = sim
    return frame


@dataclass(frozen=True, slots=True)
class SendOptions:
    """What a send_sms frame asks beyond number and text, as an agent reads
    it: a value it cannot use is dropped (the server's are always good)."""

    valid_until: datetime | None = None  # naive UTC
    sim: int | None = None


def send_options(frame: dict[str, Any]) -> SendOptions:
    raw_until, raw_sim = frame.get("valid_until"), frame.get("sim")
    valid_until = dates.parse_reported_time(raw_until) if isinstance(raw_until, str) else None
    sim = raw_sim if type(raw_sim) is int and 1 <= raw_sim <= MAX_SIM else None
    return SendOptions(valid_until, sim)


def dial(to: str) -> dict[str, Any]:
    return {"type": "dial", "id": "call_" + secrets.token_hex(8), "to": to}


def ping(ts: float) -> dict[str, Any]:
    return {"type": "ping", "ts": ts}


def ack_report(ref: str) -> dict[str, Any]:
    return {"type": "ack", "ref": ref}


def error(code: str, reason: str, ref: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "reason": reason}
    if ref is not None:
        frame["ref"] = ref
    return frame


def encode(frame: dict[str, Any]) -> str:
    # orjson's on the server (runtime.bootstrap) and an SMPP agent, which
    # write several frames an SMS; the stdlib's elsewhere.
    return fastjson.dumps_text(frame)


# --- device → server ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    protocol: int
    capabilities: frozenset[str]
    agent: str = ""
    sims: tuple[int, ...] | None = None  # the SIM slots it has; None: it did not say


@dataclass(frozen=True, slots=True)
class Pong:
    pass


@dataclass(frozen=True, slots=True)
class Ack:
    """The device holds command `message_id`.`attempt`."""

    message_id: int
    attempt: int


@dataclass(frozen=True, slots=True)
class DialAck:
    """The device holds a dial command; nothing is stored for it."""


@dataclass(frozen=True, slots=True)
class Result:
    ref: str
    message_id: int
    attempt: int
    status: Literal["sent", "failed"]
    reason: str
    at: datetime | None  # naive UTC; None: the device gave none we can use


@dataclass(frozen=True, slots=True)
class Delivery:
    ref: str
    message_id: int
    attempt: int
    status: Literal["delivered", "undelivered"]
    reason: str
    at: datetime | None


@dataclass(frozen=True, slots=True)
class SmsReceived:
    ref: str
    sender: str
    text: str
    at: datetime | None


@dataclass(frozen=True, slots=True)
class CallEvent:
    ref: str
    event: str  # one of CALL_KINDS
    number: str
    duration: str  # "HH:MM:SS" or "0"
    at: datetime | None


@dataclass(frozen=True, slots=True)
class Qualification:
    ref: str
    number: str
    text: str
    at: datetime | None


Report = Result | Delivery | SmsReceived | CallEvent | Qualification
DeviceFrame = Hello | Pong | Ack | DialAck | Report


def _string(frame: dict[str, Any], name: str, ref: str | None, limit: int) -> str:
    """A required, non-empty string field of at most `limit` characters, without NUL."""
    value = frame.get(name)
    if not isinstance(value, str) or not value:
        raise FrameError("bad_frame", f'"{name}" must be a non-empty string', ref)
    if len(value) > limit:
        raise FrameError("bad_frame", f'"{name}" is longer than {limit} characters', ref)
    if "\x00" in value:
        raise FrameError("bad_frame", f'"{name}" contains a NUL character', ref)
    return value


def _optional(frame: dict[str, Any], name: str, ref: str | None, limit: int) -> str:
    if frame.get(name) in (None, ""):
        return ""
    return _string(frame, name, ref, limit)


def _number(frame: dict[str, Any], name: str, ref: str | None) -> str:
    value = _string(frame, name, ref, MAX_NUMBER)
    if not value.isprintable():
        raise FrameError("bad_frame", f'"{name}" contains control characters', ref)
    return value


def _command(frame: dict[str, Any], ref: str | None) -> tuple[int, int]:
    raw = frame.get("id")
    parsed = parse_command_id(raw) if isinstance(raw, str) else None
    if parsed is None:
        raise FrameError("bad_frame", '"id" must be a command id such as "1042.0"', ref)
    return parsed


def parse_time(raw: object) -> datetime | None:
    """A report's `at` as naive UTC, or None when it is missing or unusable
    (the server's time then stands in: see domain/dates.py)."""
    return dates.parse_reported_time(raw)


def _at(frame: dict[str, Any], ref: str | None) -> datetime | None:
    raw = frame.get("at")
    if raw is not None and not isinstance(raw, str):
        raise FrameError("bad_frame", '"at" must be an ISO 8601 string', ref)
    return parse_time(raw)


def _status(frame: dict[str, Any], allowed: tuple[str, ...], ref: str | None) -> Any:
    status = frame.get("status")
    if status not in allowed:
        choices = " or ".join(f'"{s}"' for s in allowed)
        raise FrameError("bad_frame", f"{frame['type']} status must be {choices}", ref)
    return status


def _hello(frame: dict[str, Any]) -> Hello:
    version = frame.get("protocol")
    # bool is an int in Python; `true` is not a version.
    if type(version) is not int:
        raise FrameError("bad_frame", '"protocol" must be an integer')
    raw = frame.get("capabilities", ["sms", "call"])
    if (
        not isinstance(raw, list)
        or len(raw) > MAX_CAPABILITIES
        or not all(isinstance(c, str) and len(c) <= 32 for c in raw)
    ):
        raise FrameError(
            "bad_frame", f'"capabilities" must be a list of at most {MAX_CAPABILITIES} names'
        )
    agent = frame.get("agent")
    if agent is not None and (not isinstance(agent, str) or len(agent) > MAX_AGENT):
        raise FrameError("bad_frame", f'"agent" must be a string of at most {MAX_AGENT} characters')
    # Names this server does not know are ignored: newer devices may offer more.
    capabilities = frozenset(raw) & CAPABILITIES
    return Hello(version, capabilities, (agent or "").replace("\x00", ""), _sims(frame))


def _sims(frame: dict[str, Any]) -> tuple[int, ...] | None:
    """The hello's optional `sims`: distinct 1-based slots, at most MAX_SIM."""
    raw = frame.get("sims")
    if raw is None:
        return None
    if (
        not isinstance(raw, list)
        or not 1 <= len(raw) <= MAX_SIM
        or not all(type(v) is int and 1 <= v <= MAX_SIM for v in raw)
        or len(set(raw)) != len(raw)
    ):
        raise FrameError(
            "bad_frame", f'"sims" must be a list of distinct SIM slots from 1 to {MAX_SIM}'
        )
    return tuple(sorted(raw))


def _report(kind: str, frame: dict[str, Any]) -> Report:
    raw_ref = frame.get("ref")
    if not isinstance(raw_ref, str) or not REF_RE.fullmatch(raw_ref):
        raise FrameError("bad_frame", '"ref" must be 1-64 characters of [A-Za-z0-9_.:-]')
    ref = raw_ref
    at = _at(frame, ref)
    if kind == "result":
        message_id, attempt = _command(frame, ref)
        status = _status(frame, ("sent", "failed"), ref)
        return Result(ref, message_id, attempt, status, _reason(frame, ref), at)
    if kind == "delivery":
        message_id, attempt = _command(frame, ref)
        status = _status(frame, ("delivered", "undelivered"), ref)
        return Delivery(ref, message_id, attempt, status, _reason(frame, ref), at)
    if kind == "sms_received":
        sender = _number(frame, "from", ref)
        return SmsReceived(ref, sender, _string(frame, "text", ref, MAX_TEXT), at)
    if kind == "call":
        event = frame.get("event")
        if event not in CALL_KINDS:
            raise FrameError("bad_frame", f"call event must be one of {CALL_KINDS}", ref)
        duration = frame.get("duration", "0")
        if not isinstance(duration, str) or not DURATION_RE.fullmatch(duration):
            raise FrameError("bad_frame", 'duration must be "HH:MM:SS" or "0"', ref)
        return CallEvent(ref, event, _number(frame, "number", ref), duration, at)
    assert kind == "qualification"
    number = _number(frame, "number", ref)
    return Qualification(ref, number, _string(frame, "text", ref, MAX_TEXT), at)


def _reason(frame: dict[str, Any], ref: str) -> str:
    reason = frame.get("reason")
    if reason is None:
        return ""
    if not isinstance(reason, str):
        raise FrameError("bad_frame", '"reason" must be a string', ref)
    # A reason is for people: keep what fits rather than lose the report.
    return reason.replace("\x00", "")[:MAX_REASON]


REPORT_TYPES = ("result", "delivery", "sms_received", "call", "qualification")
FRAME_TYPES = ("hello", "ack", "pong", *REPORT_TYPES)


def parse_device_frame(raw: str | bytes) -> DeviceFrame:
    """Decode and check one frame from a device; raises FrameError only."""
    # Imported here, not at the top: the agent shares this module and must run
    # with pure-Python packages only (Termux, docs/phones/termux.md); only the
    # server parses device frames.
    import orjson

    if len(raw) > MAX_FRAME_BYTES:
        raise FrameError("too_large", f"frames are limited to {MAX_FRAME_BYTES} bytes")
    try:
        # orjson refuses what the store could not keep (lone surrogates) and
        # nesting deeper than 1024 levels, where json.loads would recurse.
        frame = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise FrameError("bad_json", "frame is not valid JSON (UTF-8)") from None
    if not isinstance(frame, dict):
        raise FrameError("bad_frame", "frame must be a JSON object")
    kind = frame.get("type")
    if not isinstance(kind, str) or kind not in FRAME_TYPES:
        shown = kind if isinstance(kind, str) else type(kind).__name__
        raise FrameError("unknown_type", f"unknown frame type {shown[:40]!r}")
    if kind == "hello":
        return _hello(frame)
    if kind == "pong":
        return Pong()
    if kind == "ack":
        if isinstance(frame.get("id"), str) and DIAL_ID_RE.fullmatch(frame["id"]):
            return DialAck()
        return Ack(*_command(frame, None))
    return _report(kind, frame)
