"""What the smpp driver submitted, on disk: the ledger that makes sends idempotent.

One JSON line per fact, on disk before the step it guards (the driver awaits
`durable()` there: the group commit of group_sync.SyncedFile, one fdatasync
in the sync thread for every line appended before it, so ten submits in
flight share one instead of blocking the event loop ten times):

- `take {id, to, parts, at}`: the driver took the command, before its first submit_sm;
- `try {id, n}`: part n holds a window slot and is about to go on the wire
  (fsynced first). From here a dropped link leaves it ambiguous (smpp.md §4:
  no answer means the SMSC may have it);
- `ok {id, n, mid}`: the SMSC accepted part n as message_id `mid`;
- `again {id, n}`: the SMSC refused part n for now (a temporary error): not
  on the wire any more, it waits unmarked for its next try;
- `lost {id, n}`: part n got no answer (the link dropped or timed out): it is
  never submitted again, and counts as gone out;
- `refused {id, n, reason}`: the SMSC refused part n (certainly not accepted);
- `end {id, reason}`: given up with parts never submitted (a restart in the middle);
- `dlr {id, n, outcome, stat, err}`: part n's final receipt;
- `orphan {mid, outcome, stat, err}`: a final receipt about no known part yet
  (it may come before its submit_sm_resp, smpp.md §5 "race"); matched when the
  resp is recorded, forgotten after `ORPHAN_KEEP`.

A part in `try` with neither answer when the ledger is read again was on the
wire when the agent stopped: it is ambiguous, as `lost`.

What a message becomes (`Send.result`, `Send.delivery`) is worked out here from
its parts, without I/O, so that a restart reports exactly what the first run
would have.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from simgate.device import fastjson
from simgate.device.drivers import Delivered, Failed, Sent, Undelivered
from simgate.device.group_sync import SyncedFile, read_entries

FILE_NAME = "smpp.sends"
ORPHAN_KEEP = timedelta(hours=2)  # smpp.md §5: keep unmatched receipts 1-2 h

PartState = Literal["new", "trying", "ok", "lost", "refused"]
Outcome = Literal["delivered", "failed", "expired"]


@dataclass(frozen=True, slots=True)
class PartReceipt:
    """A part's final delivery receipt, as much of it as the reason needs."""

    outcome: Outcome
    stat: str  # the SMSC's word: DELIVRD, UNDELIV, EXPIRED, REJECTD, ...
    error: str | None
    at: datetime


@dataclass
class Part:
    state: PartState = "new"
    message_id: str | None = None
    receipt: PartReceipt | None = None
    at: datetime | None = None  # when its submit was answered (or lost)


@dataclass
class Send:
    command_id: str
    to: str
    parts: list[Part]
    taken_at: datetime
    refusal: str | None = None  # a part was refused: the message is not (all) sent
    nothing_out: bool = True  # no part accepted nor ambiguous when it was refused
    gave_up: str | None = None

    def untouched(self) -> bool:
        """Taken, and no part ever went near the wire (no `try`): a restart may
        send it afresh, nothing of it can have left."""
        return (
            self.refusal is None
            and self.gave_up is None
            and all(part.state == "new" for part in self.parts)
        )

    def certainly_not_sent(self) -> bool:
        """Failed with no part accepted nor ambiguous: `NotSent` (the server
        may hand it to another sender without risking a duplicate)."""
        if self.refusal is not None:
            return self.nothing_out
        return self.gave_up is not None and self.out() == 0

    def out(self) -> int:
        """Parts that went out (accepted, or perhaps accepted)."""
        return sum(part.state in ("ok", "lost") for part in self.parts)

    def result(self) -> Sent | Failed | None:
        """Sent once every part is accepted or ambiguous; Failed when a part
        was refused (or never submitted); None while parts are still going."""
        if self.refusal is not None:
            return Failed(self.command_id, self.refusal, self._last_answer())
        if self.gave_up is not None:
            return Failed(self.command_id, self.gave_up, self._last_answer())
        if all(part.state in ("ok", "lost") for part in self.parts):
            return Sent(self.command_id, self._last_answer())
        return None

    def delivery(self) -> Delivered | Undelivered | None:
        """Known once the message is sent and a part ended failed (at once),
        or every part was delivered. A part whose submit was lost has no
        message_id to match its receipt with, so such a message is never
        Delivered (it stays `sent`), only Undelivered by another part."""
        if not isinstance(self.result(), Sent):
            return None
        receipts = [(n, part.receipt) for n, part in enumerate(self.parts) if part.receipt]
        failures = [(r.at, n, r) for n, r in receipts if r.outcome != "delivered"]
        if failures:
            _, n, first = min(failures, key=lambda f: (f[0], f[1]))
            return Undelivered(self.command_id, self._receipt_reason(n, first), first.at)
        if len(receipts) == len(self.parts) and all(p.state == "ok" for p in self.parts):
            return Delivered(self.command_id, max(r.at for _, r in receipts))
        return None

    def _receipt_reason(self, n: int, receipt: PartReceipt) -> str:
        error = f" (err {receipt.error})" if receipt.error else ""
        which = f" for part {n + 1} of {len(self.parts)}" if len(self.parts) > 1 else ""
        if receipt.outcome == "expired":
            # The device protocol's delivery report has no `expired`: the
            # reason keeps the word (docs/smpp.md, "Receipts").
            meaning = "not delivered within its validity"
        else:
            meaning = "not delivered to the recipient"
        return f"{receipt.stat}{error}{which}: the SMSC reported it {meaning}"

    def _last_answer(self) -> datetime:
        times = [part.at for part in self.parts if part.at is not None]
        return max(times) if times else self.taken_at


@dataclass
class _Orphan:
    message_id: str
    receipt: PartReceipt
    got: datetime  # when it arrived: kept ORPHAN_KEEP from then


@dataclass
class SendBook:
    """The ledger, and the sends and receipts replayed from it.

    `keys` gives the forms a message_id may take in a receipt (receipts.id_keys,
    smpp.md §5 "matching"): a part is indexed under all of them. `rank` says
    how surely a receipt's id names a submitted one (receipts.match_rank: 0
    the same, 1 the same once normalised, 2 the same number in the other
    base). Rank 2 is ambiguous among all-digit ids (hex "1e" is decimal "30",
    another part's id): it is used only until a receipt has matched at rank 0
    or 1, which shows that this SMSC writes ids the same way in both places."""

    folder: Path
    keys: Callable[[str], list[str]]
    rank: Callable[[str, str], int | None]
    fsync: bool = True
    same_form: bool = False  # a receipt matched its part without a change of base
    sends: dict[str, Send] = field(default_factory=dict)
    _by_key: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    _orphans: dict[str, _Orphan] = field(default_factory=dict)

    def __post_init__(self) -> None:
        path = self.folder / FILE_NAME
        entries = read_entries(path)
        self._ledger = SyncedFile(path, enabled=self.fsync)
        for entry in entries:
            try:
                self._apply(entry)
            except (KeyError, IndexError, TypeError, ValueError):
                continue  # an entry this version cannot read: skip, never guess
        for send in self.sends.values():
            for part in send.parts:
                if part.state == "trying":  # on the wire when the last run stopped
                    part.state = "lost"
        self.prune(datetime.now(UTC))

    async def durable(self) -> None:
        """Return once every fact recorded so far is on disk (group commit)."""
        await self._ledger.durable()

    def close(self) -> None:
        self._ledger.close()

    def get(self, command_id: str) -> Send | None:
        return self.sends.get(command_id)

    # --- facts ------------------------------------------------------------------

    def take(self, command_id: str, to: str, parts: int, at: datetime) -> Send:
        self._record({"k": "take", "id": command_id, "to": to, "parts": parts, "at": _iso(at)})
        return self.sends[command_id]

    def trying(self, command_id: str, n: int) -> None:
        self._record({"k": "try", "id": command_id, "n": n})

    def accepted(self, command_id: str, n: int, message_id: str, at: datetime) -> Send:
        """Part n is accepted; a receipt that came first is matched now."""
        self._record({"k": "ok", "id": command_id, "n": n, "mid": message_id, "at": _iso(at)})
        for key in self.keys(message_id):
            orphan = self._orphans.get(key)
            if orphan is None:
                continue
            rank = self.rank(message_id, orphan.message_id)
            if rank is not None and self._trusted(rank):
                self.receipt(command_id, n, orphan.receipt, rank)
                self._forget_orphan(orphan)
                break
        return self.sends[command_id]

    def not_taken(self, command_id: str, n: int) -> None:
        """The SMSC refused part n for now (a temporary error): certainly not
        accepted, it waits for its next try unmarked."""
        self._record({"k": "again", "id": command_id, "n": n})

    def lost(self, command_id: str, n: int, at: datetime) -> None:
        self._record({"k": "lost", "id": command_id, "n": n, "at": _iso(at)})

    def refused(self, command_id: str, n: int, reason: str, at: datetime) -> None:
        self._record({"k": "refused", "id": command_id, "n": n, "reason": reason, "at": _iso(at)})

    def end(self, command_id: str, reason: str, at: datetime) -> None:
        self._record({"k": "end", "id": command_id, "reason": reason, "at": _iso(at)})

    def receipt(self, command_id: str, n: int, receipt: PartReceipt, rank: int = 0) -> None:
        entry = {"k": "dlr", "id": command_id, "n": n, "rank": rank, **_receipt_fields(receipt)}
        self._record(entry)

    def match(self, message_id: str) -> tuple[Send, int, int] | None:
        """The send, part and rank a receipt's message_id names, if known: the
        most certain match (see `rank`), and among equals one still waiting
        for its receipt."""
        best: tuple[int, bool, str, int] | None = None
        for key in self.keys(message_id):
            for command_id, n in self._by_key.get(key, []):
                part = self.sends[command_id].parts[n]
                rank = self.rank(part.message_id or "", message_id)
                if rank is None or not self._trusted(rank):
                    continue
                candidate = (rank, part.receipt is not None, command_id, n)
                if best is None or candidate[:2] < best[:2]:
                    best = candidate
        if best is None:
            return None
        rank, _, command_id, n = best
        return self.sends[command_id], n, rank

    def _trusted(self, rank: int) -> bool:
        return rank <= 1 or not self.same_form

    def keep_orphan(self, message_id: str, receipt: PartReceipt, got: datetime) -> None:
        entry = {"k": "orphan", "mid": message_id, "got": _iso(got), **_receipt_fields(receipt)}
        self._record(entry)

    def prune(self, now: datetime) -> None:
        """Forget orphan receipts older than ORPHAN_KEEP (in memory; the
        ledger drops them at its next reading)."""
        for orphan in list(self._orphans.values()):
            if now - orphan.got > ORPHAN_KEEP:
                self._forget_orphan(orphan)

    # --- replay -----------------------------------------------------------------

    def _record(self, entry: dict[str, Any]) -> None:
        self._apply(entry)
        self._ledger.append(fastjson.dumps_line(entry))  # on disk after durable()

    def _apply(self, entry: dict[str, Any]) -> None:
        kind = entry["k"]
        if kind == "orphan":
            receipt = _receipt_of(entry)
            orphan = _Orphan(entry["mid"], receipt, datetime.fromisoformat(entry["got"]))
            for key in self.keys(orphan.message_id):
                self._orphans[key] = orphan
            return
        command_id = entry["id"]
        if kind == "take":
            parts = [Part() for _ in range(int(entry["parts"]))]
            taken = datetime.fromisoformat(entry["at"])
            self.sends[command_id] = Send(command_id, entry["to"], parts, taken)
            return
        send = self.sends[command_id]
        if kind == "end":
            send.gave_up = entry["reason"]
            return
        part = send.parts[entry["n"]]
        if kind == "try":
            part.state = "trying"
        elif kind == "again":
            part.state = "new"
        elif kind == "ok":
            part.state, part.message_id = "ok", entry["mid"]
            part.at = datetime.fromisoformat(entry["at"])
            for key in self.keys(entry["mid"]):
                self._by_key.setdefault(key, []).append((command_id, entry["n"]))
        elif kind == "lost":
            part.state, part.at = "lost", datetime.fromisoformat(entry["at"])
        elif kind == "refused":
            part.state, part.at = "refused", datetime.fromisoformat(entry["at"])
            if send.refusal is None:
                send.nothing_out = send.out() == 0
                send.refusal = entry["reason"]
        elif kind == "dlr" and part.receipt is None:
            part.receipt = _receipt_of(entry)
            if entry.get("rank", 0) <= 1:
                self.same_form = True

    def _forget_orphan(self, orphan: _Orphan) -> None:
        for key in self.keys(orphan.message_id):
            if self._orphans.get(key) is orphan:
                del self._orphans[key]


def _receipt_fields(receipt: PartReceipt) -> dict[str, Any]:
    return {
        "outcome": receipt.outcome,
        "stat": receipt.stat,
        "err": receipt.error,
        "at": _iso(receipt.at),
    }


def _receipt_of(entry: dict[str, Any]) -> PartReceipt:
    return PartReceipt(
        entry["outcome"], entry["stat"], entry.get("err"), datetime.fromisoformat(entry["at"])
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat()
