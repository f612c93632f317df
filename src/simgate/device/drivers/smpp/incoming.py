"""Incoming SMS (MO deliver_sm) for the smpp driver: their refs and their parts, on disk.

An SMSC that gets no deliver_sm_resp sends the same deliver_sm again (after a
drop, a restart, a slow answer: smpp.md §5 "Acknowledge", §9). The server
stores each report ref once, so a redelivered SMS must get the ref it had:
the ref is a digest of what the SMSC sent (source, destination, data_coding,
concatenation reference and payload), with an occurrence number. The same
digest seen again is a redelivery (same ref) only when it comes on another
connection than the one that acknowledged it last, within `REPEAT_WINDOW`:
an acknowledgement can only have been lost with its connection. On the same
connection, or later, it is a new SMS (the next number): a person who sends
"YES" twice is heard twice. What is lost to the dedupe: the same text from the
same person twice within the window, with a reconnect (or an agent restart)
in between.

The parts of a long SMS are written here before each is acknowledged, so a
restart between two parts loses none (smpp.md §6); the whole SMS is marked
done once the agent has journaled it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from simgate.device.drivers._state import Ledger

FILE_NAME = "smpp.incoming"
REPEAT_WINDOW = timedelta(minutes=15)
PART_KEEP = timedelta(hours=1)


def sender_of(address: str, ton: int) -> str:
    """The sender as the server stores it: `+digits` for an international
    number (TON 1, sent without `+`, smpp.md §6), else as the SMSC gave it."""
    address = address.strip()
    if ton == 1 and address.lstrip("+").isdigit():
        return "+" + address.lstrip("+")
    return address


def digest(
    source: str, destination: str, data_coding: int, payload: bytes, concat: str = ""
) -> str:
    """What identifies one SMS the SMSC sends us, however often it sends it."""
    h = hashlib.sha256()
    for piece in (source, destination, str(data_coding), concat):
        data = piece.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(4, "big") + data)  # length first: no two splits alike
    h.update(payload)
    return h.hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class StoredPart:
    """A part of a long SMS, acknowledged to the SMSC before the rest came."""

    key: str  # source > destination
    ref: int
    total: int
    seq: int
    payload: bytes
    data_coding: int
    source: str
    source_ton: int
    destination: str
    at: float  # epoch seconds


@dataclass
class IncomingBook:
    folder: Path
    fsync: bool = True
    # digest → (n, when last seen, the connection that acknowledged it)
    _seen: dict[str, tuple[int, datetime, str]] = field(default_factory=dict)
    parts: list[StoredPart] = field(default_factory=list)  # of long SMS not yet done

    def __post_init__(self) -> None:
        self._ledger = Ledger(self.folder / FILE_NAME, fsync=self.fsync)
        done: set[tuple[str, int]] = set()
        for entry in self._ledger.entries:
            try:
                if entry["k"] == "seen":
                    at = datetime.fromisoformat(entry["at"])
                    self._seen[entry["d"]] = (entry["n"], at, entry.get("c", ""))
                elif entry["k"] == "part":
                    self.parts.append(_part_of(entry))
                elif entry["k"] == "done":
                    done.add((entry["key"], entry["ref"]))
            except (KeyError, TypeError, ValueError):
                continue
        # Parts that waited past any reassembly are not read back (smpp.md §6: minutes).
        oldest = datetime.now(UTC).timestamp() - PART_KEEP.total_seconds()
        self.parts = [p for p in self.parts if (p.key, p.ref) not in done and p.at >= oldest]
        horizon = datetime.now(UTC) - REPEAT_WINDOW
        self._seen = {d: seen for d, seen in self._seen.items() if seen[1] >= horizon}

    def close(self) -> None:
        self._ledger.close()

    def ref_for(self, sms_digest: str, now: datetime, connection: str) -> str:
        """The report ref of the SMS with this digest arriving `now` on
        `connection` (`seen` records it once the agent has journaled it)."""
        seen = self._seen.get(sms_digest)
        if seen is None:
            return f"smpp-{sms_digest}-0"
        n, last, acknowledged_on = seen
        again = now - last <= REPEAT_WINDOW and connection != acknowledged_on
        return f"smpp-{sms_digest}-{n if again else n + 1}"

    def seen(self, ref: str, now: datetime, connection: str) -> None:
        _, sms_digest, n = ref.split("-")
        self._seen[sms_digest] = (int(n), now, connection)
        self._ledger.write(
            {"k": "seen", "d": sms_digest, "n": int(n), "at": now.isoformat(), "c": connection}
        )
        horizon = now - REPEAT_WINDOW
        if len(self._seen) > 1000:
            self._seen = {d: s for d, s in self._seen.items() if s[1] >= horizon}

    def keep_part(self, part: StoredPart) -> None:
        self.parts.append(part)
        self._ledger.write(
            {
                "k": "part",
                "key": part.key,
                "ref": part.ref,
                "total": part.total,
                "seq": part.seq,
                "hex": part.payload.hex(),
                "dc": part.data_coding,
                "src": part.source,
                "ton": part.source_ton,
                "dst": part.destination,
                "at": part.at,
            }
        )

    def done(self, key: str, ref: int) -> None:
        """The long SMS (key, ref) is reported: its parts are not kept any more."""
        self.parts = [p for p in self.parts if (p.key, p.ref) != (key, ref)]
        self._ledger.write({"k": "done", "key": key, "ref": ref})


def _part_of(entry: dict[str, Any]) -> StoredPart:
    return StoredPart(
        key=entry["key"],
        ref=int(entry["ref"]),
        total=int(entry["total"]),
        seq=int(entry["seq"]),
        payload=bytes.fromhex(entry["hex"]),
        data_coding=int(entry["dc"]),
        source=entry["src"],
        source_ton=int(entry["ton"]),
        destination=entry["dst"],
        at=float(entry["at"]),
    )
