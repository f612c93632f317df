"""The agent's journal: what it accepted and what it still has to report.

Append-only and fsynced, so that the agent survives restarts like a real
phone app: it never takes a command id twice, re-sends the reports the server
has not acknowledged, and knows which SMS it still waits to hear about.

Writing is not syncing: `accept` and `report` append their line, and the
agent awaits `durable()` before it tells the server (the ack of a command,
the report itself). One fdatasync, in the sync thread (group_sync.py),
covers every line appended before it, so commands taken together share it
and the event loop never waits for the disk; an fsync per line on the loop
held a fast sender (an SMPP bind) to some 200 SMS a second. A `done` line is
never waited for: lost in a crash, it only makes the agent send a report
again, which the server stores once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simgate.device import fastjson
from simgate.device.group_sync import SyncedFile, read_entries


@dataclass
class Journal:
    """Append-only record of accepted commands and pending reports."""

    folder: Path
    fsync: bool = True  # a real phone must; benchmarks measure the server instead
    commands: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → send_sms frame
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)  # ref → report frame
    results: dict[str, str] = field(default_factory=dict)  # command id → sent / failed
    delivered: set[str] = field(default_factory=set)  # command ids with a delivery report

    def __post_init__(self) -> None:
        self.path = self.folder / "journal.jsonl"
        for entry in read_entries(self.path):
            if entry["k"] == "cmd":
                self.commands[entry["frame"]["id"]] = entry["frame"]
            elif entry["k"] == "report":
                self._remember(entry["frame"])
                self.pending[entry["frame"]["ref"]] = entry["frame"]
            elif entry["k"] == "done":
                self.pending.pop(entry["ref"], None)
        self._file = SyncedFile(self.path, enabled=self.fsync)

    def _write(self, entry: dict[str, Any], *, wait: bool = True) -> None:
        self._file.append(fastjson.dumps_line(entry), wait=wait)

    async def durable(self) -> None:
        """Return once every line written so far is on disk (group commit)."""
        await self._file.durable()

    def _remember(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "result":
            self.results[frame["id"]] = frame["status"]
        elif frame["type"] == "delivery":
            self.delivered.add(frame["id"])

    def accept(self, frame: dict[str, Any]) -> bool:
        """Record a send_sms command (on disk after `durable()`); False if it was
        seen before (a repeat hand-over)."""
        if frame["id"] in self.commands:
            return False
        self.commands[frame["id"]] = frame
        self._write({"k": "cmd", "frame": frame})
        return True

    def unfinished(self, awaiting_delivery: bool) -> list[dict[str, Any]]:
        """Commands to hand to the driver again after a restart: those with no
        result yet, and (when the driver reports delivery) those sent but not
        yet delivered."""
        return [
            frame
            for command_id, frame in self.commands.items()
            if command_id not in self.results
            or (
                awaiting_delivery
                and self.results[command_id] == "sent"
                and command_id not in self.delivered
            )
        ]

    def report(self, frame: dict[str, Any]) -> None:
        """Record a report to send (on disk after `durable()`)."""
        self._remember(frame)
        self.pending[frame["ref"]] = frame
        self._write({"k": "report", "frame": frame})

    def done(self, ref: str) -> None:
        if self.pending.pop(ref, None) is not None:
            self._write({"k": "done", "ref": ref}, wait=False)

    def close(self) -> None:
        # What a stop left unsynced (the last `done` lines, say) goes to disk now.
        self._file.close()
