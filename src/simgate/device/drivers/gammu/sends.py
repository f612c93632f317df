"""What the gammu driver sent, on disk: the "sent box" that makes it idempotent.

For each command id: that the driver took it (before the first part goes to
the modem), the message reference (TP-MR) of every part the modem accepted,
the outcome (sent, or refused), and each part's delivery report. Append-only
and fsynced like the agent's journal, replayed at start: a command id the
driver took is never sent again, and a delivery report that comes after a
restart still finds its SMS.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from simgate.device.drivers import Delivered, Undelivered
from simgate.device.drivers.gammu.inbox import StatusReport, same_number

FILE_NAME = "gammu-sends.jsonl"
# TP-MR wraps at 256: a report matches only a part sent this recently.
MATCH_WINDOW = timedelta(days=7)


@dataclass
class Part:
    reference: int
    at: datetime
    report: StatusReport | None = None  # its final delivery report


@dataclass
class Send:
    command_id: str
    to: str
    total: int  # parts the SMS has
    taken_at: datetime
    parts: list[Part] = field(default_factory=list)
    sent_at: datetime | None = None  # every part accepted by the modem
    refused: str | None = None  # the modem refused it: not sent

    def delivery(self) -> Delivered | Undelivered | None:
        """Known once a part failed or every part was delivered."""
        reports = [part.report for part in self.parts if part.report is not None]
        for report in reports:
            if report.outcome == "failed":
                return Undelivered(self.command_id, _reason(report), report.at)
        if self.sent_at is not None and len(reports) == self.total:
            return Delivered(self.command_id, max(report.at for report in reports))
        return None


def _reason(report: StatusReport) -> str:
    code = f" (TP-Status 0x{report.status:02X})" if report.status is not None else ""
    return f"the network could not deliver it{code}"


class SendBook:
    def __init__(self, folder: Path, fsync: bool = True) -> None:
        self.fsync = fsync
        self.sends: dict[str, Send] = {}
        self._by_reference: dict[int, list[tuple[str, int]]] = {}
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / FILE_NAME
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    self._apply(json.loads(line))
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line after a crash
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115

    def get(self, command_id: str) -> Send | None:
        return self.sends.get(command_id)

    def take(self, command_id: str, to: str, total: int, at: datetime) -> None:
        self._record({"k": "take", "id": command_id, "to": to, "total": total, "at": _iso(at)})

    def part_sent(self, command_id: str, reference: int, at: datetime) -> None:
        self._record({"k": "part", "id": command_id, "mr": reference, "at": _iso(at)})

    def sent(self, command_id: str, at: datetime) -> None:
        self._record({"k": "sent", "id": command_id, "at": _iso(at)})

    def refused(self, command_id: str, to: str, reason: str, at: datetime) -> None:
        """Not sent (or not all of it): the modem refused it, or it waited too long."""
        self._record({"k": "refused", "id": command_id, "to": to, "reason": reason, "at": _iso(at)})

    def release(self, command_id: str) -> None:
        """Taken, and certainly not sent (the modem was gone before its first
        part): forget it, so that it is sent if asked again after a restart."""
        self._record({"k": "release", "id": command_id})

    def match(self, report: StatusReport) -> tuple[Send, int] | None:
        """The send and part a delivery report is about: the latest recent part
        with its reference, to the same number, still without a final report."""
        best: tuple[Send, int] | None = None
        for command_id, index in self._by_reference.get(report.reference, ()):
            send = self.sends[command_id]
            part = send.parts[index]
            if (
                part.report is None
                and same_number(send.to, report.recipient)
                and report.at - part.at < MATCH_WINDOW
                and (best is None or part.at >= best[0].parts[best[1]].at)
            ):
                best = (send, index)
        return best

    def record_report(self, send: Send, index: int, report: StatusReport) -> None:
        """Keep a part's final delivery report (the modem may then forget it)."""
        self._record(
            {
                "k": "report",
                "id": send.command_id,
                "n": index,
                "mr": report.reference,
                "to": report.recipient,
                "outcome": report.outcome,
                "status": report.status,
                "at": _iso(report.at),
            }
        )

    def close(self) -> None:
        self._file.close()

    def _record(self, entry: dict[str, Any]) -> None:
        self._apply(entry)
        self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())

    def _apply(self, entry: dict[str, Any]) -> None:
        kind, command_id = entry["k"], entry["id"]
        if kind == "take":
            at = datetime.fromisoformat(entry["at"])
            self.sends[command_id] = Send(command_id, entry["to"], entry["total"], at)
            return
        if kind == "release":
            self.sends.pop(command_id, None)
            return
        if kind == "refused" and command_id not in self.sends:
            at = datetime.fromisoformat(entry["at"])
            self.sends[command_id] = Send(command_id, entry["to"], 0, at)
        send = self.sends[command_id]
        if kind == "part":
            self._by_reference.setdefault(entry["mr"], []).append((command_id, len(send.parts)))
            send.parts.append(Part(entry["mr"], datetime.fromisoformat(entry["at"])))
        elif kind == "sent":
            send.sent_at = datetime.fromisoformat(entry["at"])
        elif kind == "refused":
            send.refused = entry["reason"]
        elif kind == "report":
            send.parts[entry["n"]].report = StatusReport(
                entry["mr"],
                entry["to"],
                entry["outcome"],
                entry["status"],
                datetime.fromisoformat(entry["at"]),
                location=0,
            )


def _iso(moment: datetime) -> str:
    return moment.isoformat()
