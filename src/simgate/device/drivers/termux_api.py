"""The Termux:API commands as the termux driver uses them: running one safely,
and reading what it prints (reference/termux-api.md, "§" below). No state.

Every command runs with a timeout and its process group is killed after it:
without the Termux:API app a command can hang for ever (§1). Its exit code
says only whether the script was used right, so the output is read too: a
JSON `{"error": ...}` is a refusal (a missing permission, §1).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from datetime import UTC, datetime, tzinfo
from typing import Any

COMMANDS = (
    "termux-sms-send",
    "termux-sms-list",
    "termux-call-log",
    "termux-telephony-call",
    "termux-telephony-deviceinfo",
)
# termux-call-log types (§4) as the protocol's call events; the others
# (BLOCKED, UNKNOWN_TYPE) are not calls the owner took part in.
CALL_KINDS = {
    "INCOMING": "incoming_call",
    "OUTGOING": "outgoing_call",
    "MISSED": "missed_call",
    "REJECTED": "missed_call",
    "VOICEMAIL": "missed_call",
}


# --- reading Termux:API output (pure) --------------------------------------------


def local_time(raw: object, zone: tzinfo | None = None) -> datetime | None:
    """`yyyy-MM-dd HH:mm:ss` in the phone's zone, no offset (§3, §4), in UTC.
    `zone` None means this process's local zone: the agent runs on the phone."""
    if not isinstance(raw, str):
        return None
    try:
        naive = datetime.strptime(raw, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    local = naive.replace(tzinfo=zone) if zone is not None else naive.astimezone()
    return local.astimezone(UTC)


def call_duration(raw: object) -> str:
    """`MM:SS` or `HH:MM:SS` (§4) as the protocol's `HH:MM:SS`, or "0"."""
    parts = raw.split(":") if isinstance(raw, str) else []
    if not parts or len(parts) > 3 or not all(p.isdigit() for p in parts):
        return "0"
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + int(part)
    if seconds == 0:
        return "0"
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def same_number(a: str, b: str) -> bool:
    """Android may store a number as dialled or reformatted: compare digits."""
    da, db = "".join(c for c in a if c.isdigit()), "".join(c for c in b if c.isdigit())
    if not da or not db:
        return a == b
    tail = min(len(da), len(db), 9)
    return da[-tail:] == db[-tail:]


def row_id(row: dict[str, Any]) -> int | None:
    value = row.get("_id")
    return value if isinstance(value, int) else None


def call_key(row: dict[str, Any]) -> str:
    """Call-log rows have no id (§4): what tells two of them apart."""
    return "|".join(
        str(row.get(name)) for name in ("date", "phone_number", "type", "duration", "sim_id")
    )


# --- running commands ----------------------------------------------------------------


class CommandError(Exception):
    """A Termux:API command did not do what it was asked."""

    def __init__(self, reason: str, certain: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.certain = certain  # certainly did nothing (False: it may have)


def run_command(argv: tuple[str, ...], stdin: str | None, timeout: float) -> Any:
    """Run one command, killed (its whole process group: the script, the
    termux-api binary, `am`) after `timeout` seconds; its JSON output, or None
    if it printed nothing. Raises CommandError."""
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise CommandError(f"{argv[0]} could not start ({exc})", certain=True) from None
    with proc:
        try:
            out, err = proc.communicate(stdin.encode() if stdin is not None else None, timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise CommandError(
                f"{argv[0]} did not answer within {timeout:g} s "
                "(is the Termux:API app installed and allowed to run?)",
                certain=False,
            ) from None
    return read_output(argv[0], proc.returncode, out, err)


def read_output(command: str, code: int, out: bytes, err: bytes) -> Any:
    """What a command said (§1): the exit code tells only of usage errors, a
    JSON `{"error": ...}` is a refusal, anything else is the answer."""
    text = out.decode("utf-8", "replace").strip()
    if code != 0:
        said = (text or err.decode("utf-8", "replace").strip()).splitlines()[:1]
        reason = " ".join(said) or "no output"
        raise CommandError(f"{command} failed (exit {code}): {reason}", certain=True)
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise CommandError(f"{command} printed {text[:200]!r}", certain=True) from None
    if isinstance(value, dict) and "error" in value:
        raise CommandError(f"Termux:API: {value['error']}", certain=True)
    return value


def missing_commands() -> list[str]:
    """The Termux:API commands not found on PATH (`pkg install termux-api`)."""
    return [name for name in COMMANDS if shutil.which(name) is None]
