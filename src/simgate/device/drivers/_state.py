"""What a driver must remember across restarts, kept in the agent's state folder.

Two shapes: a `Ledger` (append-only JSON lines, fsynced, like the agent's own
journal) for facts about sends, which must never be forgotten once written (a
send forgotten is a send repeated); a `JsonState` document rewritten atomically
for cursors, where only the latest value matters.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from simgate.device.group_sync import read_entries


class Ledger:
    """Append-only JSON lines; `entries` holds what earlier runs wrote."""

    def __init__(self, path: Path, fsync: bool = True) -> None:
        self.fsync = fsync  # off only for benchmarks (`--no-fsync`)
        self.entries = read_entries(path)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115

    def write(self, entry: dict[str, Any]) -> None:
        self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


class JsonState:
    """One small JSON object, replaced whole (write, fsync, rename)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path

    def load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def save(self, data: dict[str, Any]) -> None:
        temporary = self.path.with_suffix(".tmp")
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)


def remember(seen: dict[str, float], key: str, at: float, keep: float) -> dict[str, float]:
    """`seen` (id → when it happened) with `key` added, less what happened more
    than `keep` seconds before the newest: a cursor's memory of what it already
    reported, bounded by how far back its next read can reach."""
    seen = {**seen, key: at}
    horizon = max(seen.values()) - keep
    return {k: v for k, v in seen.items() if v >= horizon}
