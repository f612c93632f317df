"""Stand-ins for the Termux:API commands, as programs on PATH.

Written from reference/termux-api.md ("§" below), not from simgate's driver.
`FakeTermux(folder)` writes `termux-sms-send`, `termux-sms-list`,
`termux-call-log`, `termux-telephony-call`, `termux-telephony-deviceinfo`,
`termux-wake-lock` and `termux-wake-unlock` into `folder/bin`; each is a tiny
script that runs `main()` below. The phone they pretend to be lives in
`folder/phone.json` (its SMS provider, call log and SIM slots), every call is
recorded in `folder/calls.jsonl`, and a test changes the phone (an SMS
arrives, a call is logged) or switches faults on (`hang`, `error`) between
calls. Standard library only: these run as separate processes.
"""

from __future__ import annotations

import fcntl
import getopt
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

HOME_VARIABLE = "FAKE_TERMUX_HOME"
PROGRAMS = (
    "termux-sms-send",
    "termux-sms-list",
    "termux-call-log",
    "termux-telephony-call",
    "termux-telephony-deviceinfo",
    "termux-wake-lock",
    "termux-wake-unlock",
)
REPO = Path(__file__).resolve().parents[2]
# The provider's numeric types (§3): 1 inbox, 2 sent, 3 draft, 4 outbox, 5 failed, 6 queued.
SHOWN_TYPES = {1: "inbox", 2: "sent", 3: "draft", 4: "outbox", 5: "failed"}


@contextmanager
def phone(home: Path) -> Iterator[dict[str, Any]]:
    """The phone's state, locked and saved back (programs may run at once)."""
    with open(home / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = home / "phone.json"
        state = json.loads(path.read_text())
        yield state
        path.write_text(json.dumps(state))


def local_text(state: dict[str, Any], moment: float) -> str:
    """`yyyy-MM-dd HH:mm:ss` in the phone's zone, no offset (§3, §4)."""
    zone = timezone(timedelta(minutes=state["utc_offset_minutes"]))
    return datetime.fromtimestamp(moment, zone).strftime("%Y-%m-%d %H:%M:%S")


def add_sms(state: dict[str, Any], kind: int, address: str, body: str, moment: float) -> None:
    state["next_id"] += 1
    state["sms"].append(
        {"_id": state["next_id"], "kind": kind, "address": address, "body": body, "date": moment}
    )


class FakeTermux:
    """The test's side: install the programs, change the phone, read the record."""

    def __init__(self, folder: Path, utc_offset: timedelta = timedelta(0)) -> None:
        self.home = folder
        self.bin = folder / "bin"
        self.bin.mkdir(parents=True, exist_ok=True)
        self.zone = timezone(utc_offset)
        state = {
            "utc_offset_minutes": int(utc_offset.total_seconds() // 60),
            "sms": [],  # the SMS provider's rows
            "next_id": 3000,
            "calls": [],  # the call log
            "phone_count": 2,
            "on_air": [],  # what the radio sent
            "faults": {},  # program → "hang" | "error"
            "fail_numbers": [],  # Android marks SMS to these failed
            "provider_writes": True,  # Android writes what Termux sends into the Sent box
        }
        (folder / "phone.json").write_text(json.dumps(state))
        (folder / "calls.jsonl").touch()
        for name in PROGRAMS:
            program = self.bin / name
            program.write_text(
                f"#!{sys.executable}\n"
                "import sys\n"
                f"sys.path.insert(0, {str(REPO)!r})\n"
                "from tests.support.termux_fake import main\n"
                "sys.exit(main())\n"
            )
            program.chmod(0o755)

    def env(self) -> dict[str, str]:
        return {
            "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
            HOME_VARIABLE: str(self.home),
        }

    def change(self) -> Any:
        return phone(self.home)

    def receive_sms(self, sender: str, text: str, at: datetime | None = None) -> None:
        with phone(self.home) as state:
            add_sms(state, 1, sender, text, (at or datetime.now(UTC)).timestamp())

    def log_call(self, number: str, kind: str, duration: str, at: datetime | None = None) -> None:
        with phone(self.home) as state:
            moment = (at or datetime.now(UTC)).timestamp()
            state["calls"].append(
                {"number": number, "type": kind, "duration": duration, "date": moment}
            )

    def fault(self, program: str, kind: str | None) -> None:
        with phone(self.home) as state:
            if kind is None:
                state["faults"].pop(program, None)
            else:
                state["faults"][program] = kind

    def on_air(self) -> list[dict[str, Any]]:
        with phone(self.home) as state:
            return list(state["on_air"])

    def calls(self, program: str | None = None) -> list[dict[str, Any]]:
        lines = (self.home / "calls.jsonl").read_text().splitlines()
        made = [json.loads(line) for line in lines if line]
        return [c for c in made if program is None or c["argv"][0] == program]


# --- the programs' side ----------------------------------------------------------------


def main() -> int:
    name = Path(sys.argv[0]).name
    home = Path(os.environ[HOME_VARIABLE])
    args = sys.argv[1:]
    stdin = sys.stdin.read() if name == "termux-sms-send" and not _has_text(args) else None
    with open(home / "calls.jsonl", "a") as log:
        log.write(json.dumps({"argv": [name, *args], "stdin": stdin, "at": time.time()}) + "\n")
    with phone(home) as state:
        fault = state["faults"].get(name)
    if fault == "hang":  # no Termux:API app: the command waits for ever (§1)
        time.sleep(30)  # (long past any test's timeout; the caller must kill it)
        return 1
    if fault == "error":  # a permission not granted: JSON on stdout, exit 0 (§1)
        _print({"error": "Please grant the following permission(s) to use this command: "
                "android.permission.SEND_SMS"})  # fmt: skip
        return 0
    return PROGRAM_MAIN[name](home, args, stdin)


def _has_text(args: list[str]) -> bool:
    try:
        _, rest = getopt.getopt(args, "hn:s:")
    except getopt.GetoptError:
        return True
    return bool(rest)


def _print(value: Any) -> None:
    # Pretty-printed with 2 spaces, and a newline (§1).
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def sms_send(home: Path, args: list[str], stdin: str | None) -> int:
    """§2: prints nothing, reports nothing; -s is the 0-based slot."""
    try:
        options, rest = getopt.getopt(args, "hn:s:")
    except getopt.GetoptError as exc:
        print(f"termux-sms-send: {exc}")
        return 1
    given = dict(options)
    if "-h" in given:
        print("Usage: termux-sms-send -n number[,number2,number3,...] [-s slot] [text]")
        return 0
    if "-n" not in given:
        print("termux-sms-send: no recipient number given")
        return 1
    text = (" ".join(rest) if rest else stdin or "").strip()  # input is trimmed (§1)
    with phone(home) as state:
        slot = given.get("-s")
        if slot is not None and not (slot.isdigit() and int(slot) < state["phone_count"]):
            return 0  # a wrong slot: nothing sent, nothing said (§2)
        for number in given["-n"].split(","):
            failed = number in state["fail_numbers"]
            if not failed:
                state["on_air"].append({"to": number, "text": text, "slot": slot})
            if state["provider_writes"]:  # Android ≥ 4.4 writes it (§2)
                add_sms(state, 5 if failed else 2, number, text, time.time())
    return 0


def sms_list(home: Path, args: list[str], stdin: str | None) -> int:
    """§3, both CLI generations' common options."""
    long_options = ["message-limit=", "message-offset=", "message-type=", "message-address="]
    try:
        options, _ = getopt.getopt(args, "dnl:o:t:f:", long_options)
    except getopt.GetoptError as exc:
        print(f"termux-sms-list: {exc}")
        return 64
    short = {"--message-limit": "l", "--message-offset": "o", "--message-type": "t"}
    short["--message-address"] = "f"
    given = {short.get(name, name.lstrip("-")): value for name, value in options}
    limit, offset = int(given.get("l", "10")), int(given.get("o", "0"))
    kind = given.get("t", "all")
    address = given.get("f")
    with phone(home) as state:
        rows = list(state["sms"])
        offset_minutes = state["utc_offset_minutes"]
    if address is not None:  # exact match, every type (§3)
        rows = [r for r in rows if r["address"] == address]
    elif kind not in ("all", "failed", "queued"):  # failed/queued: the all-messages URI (§3)
        wanted = {name: number for number, name in SHOWN_TYPES.items()}.get(kind)
        rows = [r for r in rows if r["kind"] == wanted]
    rows.sort(key=lambda r: (r["date"], r["_id"]), reverse=True)  # newest first, then
    page = rows[offset : offset + limit][::-1]  # reversed: the newest last (§3)
    zone_state = {"utc_offset_minutes": offset_minutes}
    _print(
        [
            {
                "threadid": 1,
                "type": SHOWN_TYPES.get(r["kind"], ""),
                "read": r["kind"] != 1,
                "address": r["address"],
                "number": r["address"],
                "received": local_text(zone_state, r["date"]),
                "body": r["body"],
                "_id": r["_id"],
            }
            for r in page
        ]
    )
    return 0


def call_log(home: Path, args: list[str], stdin: str | None) -> int:
    """§4: newest page first, printed oldest first."""
    try:
        options, _ = getopt.getopt(args, "l:o:")
    except getopt.GetoptError:
        return 1
    given = dict(options)
    if not all(v.isdigit() for v in given.values()):
        return 1
    limit, offset = int(given.get("-l", "10")), int(given.get("-o", "0"))
    with phone(home) as state:
        rows = sorted(state["calls"], key=lambda r: r["date"], reverse=True)
        shown = [
            {
                "name": "UNKNOWN_CALLER",
                "phone_number": r["number"],
                "type": r["type"],
                "date": local_text(state, r["date"]),
                "duration": r["duration"],
                "sim_id": "1",
            }
            for r in rows[offset : offset + limit][::-1]
        ]
    _print(shown)
    return 0


def telephony_call(home: Path, args: list[str], stdin: str | None) -> int:
    """§5: prints nothing; the call shows in the call log once it ends."""
    if len(args) != 1:
        print("usage: termux-telephony-call <phone-number>")
        return 1
    with phone(home) as state:
        state["calls"].append(
            {"number": args[0], "type": "OUTGOING", "duration": "00:07", "date": time.time()}
        )
    return 0


def device_info(home: Path, args: list[str], stdin: str | None) -> int:
    """§6."""
    with phone(home) as state:
        count = state["phone_count"]
    _print(
        {
            "data_enabled": "true",
            "device_id": None,
            "network_operator_name": "Fake",
            "network_type": "lte",
            "phone_count": count,
            "phone_type": "gsm",
            "sim_state": "ready",
        }
    )
    return 0


def wake(home: Path, args: list[str], stdin: str | None) -> int:
    return 0  # §7: termux-tools, prints nothing


PROGRAM_MAIN = {
    "termux-sms-send": sms_send,
    "termux-sms-list": sms_list,
    "termux-call-log": call_log,
    "termux-telephony-call": telephony_call,
    "termux-telephony-deviceinfo": device_info,
    "termux-wake-lock": wake,
    "termux-wake-unlock": wake,
}
