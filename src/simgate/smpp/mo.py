"""Reassembly of long incoming SMS (MO) from their parts (smpp.md §6).

Parts arrive as separate deliver_sm, in any order, sometimes twice (an SMSC
redelivers what it thinks was not acknowledged). They are grouped by
(source, destination, reference, total) and joined as raw octets, decoded by
the caller afterwards, so that a surrogate pair or escape split across parts
survives. Pure: the caller passes the time (monotonic seconds) and calls
`expire` now and then to collect what will never complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simgate.smpp.text import Concatenation

Key = tuple[str, str]  # (source, destination)
_Group = tuple[Key, int, int]  # key, reference, total


@dataclass(slots=True)
class _Pending:
    started: float
    parts: dict[int, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Done:
    at: float
    parts: tuple[bytes, ...]


class Reassembly:
    """Parts of long MO messages waiting for their siblings."""

    def __init__(self, *, keep: float = 600.0) -> None:
        self._keep = keep
        self._pending: dict[_Group, _Pending] = {}
        # Completed messages, kept as long as partial ones, so that a part
        # redelivered after its message was joined is not taken for the
        # first part of a new one (and delivered again, alone, on expiry).
        self._done: dict[_Group, _Done] = {}

    def add(self, key: Key, concat: Concatenation, payload: bytes, now: float) -> bytes | None:
        """The joined payload once every part of its message is in, else None
        (also for a duplicate of a part already seen)."""
        if not 1 <= concat.seq <= concat.total or concat.total == 1:
            return payload  # nothing to wait for (split_udh never gives a bad seq)
        group = (key, concat.ref, concat.total)
        done = self._done.get(group)
        if done is not None:
            if done.parts[concat.seq - 1] == payload:
                return None  # a redelivered part of a message already joined
            del self._done[group]  # the reference came round again: a new message
        pending = self._pending.setdefault(group, _Pending(now))
        pending.parts.setdefault(concat.seq, payload)
        if len(pending.parts) < concat.total:
            return None
        del self._pending[group]
        parts = tuple(pending.parts[seq] for seq in range(1, concat.total + 1))
        self._done[group] = _Done(now, parts)
        return b"".join(parts)

    def expire(self, now: float) -> list[bytes]:
        """Partial messages older than `keep`, each joined in part order with
        the missing parts left out, so that what arrived is still delivered."""
        keep = self._keep
        old = [group for group, pending in self._pending.items() if now - pending.started > keep]
        expired = []
        for group in old:
            parts = self._pending.pop(group).parts
            expired.append(b"".join(parts[seq] for seq in sorted(parts)))
        for group in [group for group, done in self._done.items() if now - done.at > keep]:
            del self._done[group]
        return expired

    def __len__(self) -> int:
        """How many messages are waiting for parts."""
        return len(self._pending)
