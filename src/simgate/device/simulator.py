"""A simulated phone: "sends" SMS after a delay, reports delivery later, fails
a given share. It keeps a journal so that it survives restarts like a real
phone app: it never sends a message id twice, and re-sends reports the server
has not acknowledged.

`sent.log` in the state folder lists every SMS the phone actually sent, one
message id a line: the tests read it to check that nothing is sent twice.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Journal:
    """Append-only record of accepted commands and pending reports."""

    folder: Path
    fsync: bool = True  # a real phone must; benchmarks measure the server instead
    commands: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → send_sms frame
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)  # ref → report frame
    results: dict[str, str] = field(default_factory=dict)  # command id → sent / failed
    delivered: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "journal.jsonl"
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a torn last line after a crash
                if entry["k"] == "cmd":
                    self.commands[entry["frame"]["id"]] = entry["frame"]
                elif entry["k"] == "report":
                    self._remember(entry["frame"])
                    self.pending[entry["frame"]["ref"]] = entry["frame"]
                elif entry["k"] == "done":
                    self.pending.pop(entry["ref"], None)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def _write(self, entry: dict[str, Any]) -> None:
        self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())

    def _remember(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "result":
            self.results[frame["id"]] = frame["status"]
        elif frame["type"] == "delivery":
            self.delivered.add(frame["id"])

    def accept(self, frame: dict[str, Any]) -> bool:
        """Record a send_sms command; False if it was seen before (a repeat hand-over)."""
        if frame["id"] in self.commands:
            return False
        self.commands[frame["id"]] = frame
        self._write({"k": "cmd", "frame": frame})
        return True

    def unfinished(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Commands to resume after a restart: (not yet sent, sent but not yet delivered)."""
        to_send = [f for i, f in self.commands.items() if i not in self.results]
        to_deliver = [
            f
            for i, f in self.commands.items()
            if self.results.get(i) == "sent" and i not in self.delivered
        ]
        return to_send, to_deliver

    def report(self, frame: dict[str, Any]) -> None:
        self._remember(frame)
        self.pending[frame["ref"]] = frame
        self._write({"k": "report", "frame": frame})

    def done(self, ref: str) -> None:
        if self.pending.pop(ref, None) is not None:
            self._write({"k": "done", "ref": ref})

    def close(self) -> None:
        self._file.close()


@dataclass
class SimulatedPhone:
    """The radio of a simulated phone."""

    folder: Path
    sent_delay: float = 0.5
    delivery_delay: float = 1.0
    fail_rate: float = 0.0
    fsync: bool = True
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "sent.log"
        # The radio's own record, like a phone's "sent" box: what it holds was
        # transmitted, even if the app died before journaling the result.
        self.transmitted = set(path.read_text().split()) if path.exists() else set()
        self._sent_log = open(path, "a", encoding="utf-8")  # noqa: SIM115

    def transmit(self, message_id: str, to: str, text: str) -> str | None:
        """Send one SMS; returns None on success or a failure reason."""
        if message_id in self.transmitted:
            return None
        if self.rng.random() < self.fail_rate:
            return "simulated radio failure"
        self.transmitted.add(message_id)
        self._sent_log.write(message_id + "\n")
        self._sent_log.flush()
        if self.fsync:
            os.fsync(self._sent_log.fileno())
        return None

    def close(self) -> None:
        self._sent_log.close()
