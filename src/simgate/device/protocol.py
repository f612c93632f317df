"""Device protocol version 1: the frames, as plain dicts, and their checks.

docs/device-protocol.md is the human-readable contract; this module is its
executable twin, used by both the server and the reference agent. No I/O.
"""

from __future__ import annotations

import json
import re
from typing import Any

VERSION = 1
PATH = "/api/devices/v1/ws"

# Close codes (4000-4999 are for applications).
CLOSE_BAD_TOKEN = 4001
CLOSE_BAD_VERSION = 4002
CLOSE_REPLACED = 4003  # the same device connected again elsewhere
CLOSE_NO_HELLO = 4004

CALL_EVENTS = ("incoming_call", "outgoing_call", "missed_call")
DURATION_RE = re.compile(r"^(0|\d{1,3}:[0-5]\d:[0-5]\d)$")
REF_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


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
    message, _, attempt = raw.partition(".")
    if message.isdigit() and attempt.isdigit():
        return int(message), int(attempt)
    return None


def send_sms(message_id: int, attempt: int, to: str, text: str) -> dict[str, Any]:
    return {"type": "send_sms", "id": command_id(message_id, attempt), "to": to, "text": text}


def dial(command_id: str, to: str) -> dict[str, Any]:
    return {"type": "dial", "id": command_id, "to": to}


def ping(ts: float) -> dict[str, Any]:
    return {"type": "ping", "ts": ts}


def ack_report(ref: str) -> dict[str, Any]:
    return {"type": "ack", "ref": ref}


def error(code: str, reason: str, ref: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "reason": reason}
    if ref is not None:
        frame["ref"] = ref
    return frame


# --- device → server ---------------------------------------------------------

# type → required fields (besides "type")
DEVICE_FRAMES: dict[str, tuple[str, ...]] = {
    "hello": ("protocol",),
    "ack": ("id",),
    "result": ("ref", "id", "status"),
    "delivery": ("ref", "id", "status"),
    "sms_received": ("ref", "from", "text"),
    "call": ("ref", "event", "number"),
    "qualification": ("ref", "number", "text"),
    "pong": (),
}
# Frames the server stores and answers with {"type": "ack", "ref": ...}.
REPORTS = ("result", "delivery", "sms_received", "call", "qualification")


def _text(frame: dict[str, Any], name: str, ref: str | None) -> str:
    value = frame.get(name)
    if not isinstance(value, str) or not value:
        raise FrameError("bad_frame", f'"{name}" must be a non-empty string', ref)
    return value


def parse_device_frame(raw: str | bytes) -> dict[str, Any]:
    """Decode and check one frame from a device; raises FrameError."""
    try:
        frame = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise FrameError("bad_json", "frame is not valid JSON") from None
    if not isinstance(frame, dict):
        raise FrameError("bad_frame", "frame must be a JSON object")
    kind = frame.get("type")
    if kind not in DEVICE_FRAMES:
        raise FrameError("unknown_type", f"unknown frame type {kind!r}")
    ref = frame.get("ref") if isinstance(frame.get("ref"), str) else None
    for name in DEVICE_FRAMES[kind]:
        if name == "protocol":
            if not isinstance(frame.get("protocol"), int):
                raise FrameError("bad_frame", '"protocol" must be an integer')
            continue
        _text(frame, name, ref)
    if ref is not None and not REF_RE.match(ref):
        raise FrameError("bad_frame", "ref must be 1-64 characters of [A-Za-z0-9_.:-]", None)
    if kind == "result" and frame["status"] not in ("sent", "failed"):
        raise FrameError("bad_frame", 'result status must be "sent" or "failed"')
    if kind == "delivery" and frame["status"] not in ("delivered", "undelivered"):
        raise FrameError("bad_frame", 'delivery status must be "delivered" or "undelivered"')
    if kind == "call":
        if frame["event"] not in CALL_EVENTS:
            raise FrameError("bad_frame", f"call event must be one of {CALL_EVENTS}", ref)
        duration = frame.get("duration", "0")
        if not isinstance(duration, str) or not DURATION_RE.match(duration):
            raise FrameError("bad_frame", 'duration must be "HH:MM:SS" or "0"', ref)
    if "at" in frame and not isinstance(frame["at"], str):
        raise FrameError("bad_frame", '"at" must be an ISO 8601 string', ref)
    return frame


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)
