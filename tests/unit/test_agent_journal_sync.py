"""The agent's journal syncs in groups (device/group_sync.py): commands taken
together share one fsync before their acks, and a `done` line is never waited
for."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from simgate.device.journal import Journal


def command(n: int) -> dict[str, object]:
    return {"type": "send_sms", "id": f"{n}.0", "to": "+33612000001", "text": "hi"}


async def test_commands_taken_together_share_one_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    monkeypatch.setattr("simgate.device.group_sync.os.fdatasync", synced.append)
    journal = Journal(tmp_path)  # fsync on, as in production
    try:
        for n in range(20):
            assert journal.accept(command(n))
        await asyncio.gather(*(journal.durable() for _ in range(20)))
        assert len(synced) == 1
        journal.done("nothing")  # not pending: writes nothing
        journal.report({"type": "result", "ref": "r-1.0", "id": "1.0", "status": "sent"})
        journal.done("r-1.0")
        await journal.durable()
        await journal.durable()  # the done line is not waited for
        assert len(synced) == 2
    finally:
        journal.close()
    # Everything written is read back by the next run.
    again = Journal(tmp_path, fsync=False)
    assert len(again.commands) == 20 and not again.pending and again.results == {"1.0": "sent"}
    again.close()
