"""The group commit of the agent's files (device/group_sync.py): what durable()
returns after is on disk, lines are written once and in order, a failed
sync is never taken for a good one."""

from __future__ import annotations

import asyncio
import errno
import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simgate.device.group_sync import SyncedFile


@pytest.fixture
def quick_thread_switches() -> Iterator[None]:
    """The sync thread may take a file's work between any two steps of the
    loop: let it run between as many of them as can be."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("quick_thread_switches")
async def test_many_writers_waiting_at_once_find_their_lines_on_disk(tmp_path: Path) -> None:
    journal = SyncedFile(tmp_path / "a.jsonl")
    ledger = SyncedFile(tmp_path / "b.jsonl")
    on_disk: list[bool] = []

    async def writer(n: int) -> None:
        chance = random.Random(n)
        for step in range(30):
            target = journal if (n + step) % 2 else ledger
            line = f"{n}-{step}\n".encode()
            target.append(line)
            if chance.random() < 0.3:
                await asyncio.sleep(0)  # others append before this one waits
            await target.durable()
            on_disk.append(line in target.path.read_bytes())

    try:
        await asyncio.gather(*(writer(n) for n in range(40)))
    finally:
        journal.close()
        ledger.close()
    assert len(on_disk) == 1200 and all(on_disk)
    lines = (tmp_path / "a.jsonl").read_bytes().splitlines()
    lines += (tmp_path / "b.jsonl").read_bytes().splitlines()
    assert sorted(lines) == sorted(f"{n}-{s}".encode() for n in range(40) for s in range(30))


async def test_a_line_nobody_waits_for_goes_with_the_next_round(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    monkeypatch.setattr("simgate.device.group_sync.os.fdatasync", synced.append)
    file = SyncedFile(tmp_path / "j.jsonl")
    try:
        file.append(b"waited\n")
        await file.durable()
        file.append(b"done\n", wait=False)
        await file.durable()  # nothing waited for since: no round
        await asyncio.sleep(0.05)
        assert file.path.read_bytes() == b"waited\n" and len(synced) == 1
        file.append(b"next\n")
        await file.durable()
        assert file.path.read_bytes() == b"waited\ndone\nnext\n" and len(synced) == 2
        file.append(b"last done\n", wait=False)
    finally:
        file.close()
    assert file.path.read_bytes().endswith(b"next\nlast done\n")
    assert len(synced) == 3  # close writes and syncs what is left


async def test_a_failed_sync_fails_every_wait_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(fd: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    file = SyncedFile(tmp_path / "j.jsonl")
    try:
        file.append(b"one\n")
        monkeypatch.setattr("simgate.device.group_sync.os.fdatasync", broken)
        with pytest.raises(OSError, match="I/O error"):
            await file.durable()
        monkeypatch.setattr("simgate.device.group_sync.os.fdatasync", lambda fd: None)
        # Linux may have dropped the pages it could not write: a sync that
        # works now would not prove them on disk.
        file.append(b"two\n")
        with pytest.raises(OSError, match="I/O error"):
            await file.durable()
    finally:
        file.close()


async def test_a_write_that_fails_midway_is_finished_by_the_next_round_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    calls = 0

    def full_then_fine(fd: int, data: Any) -> int:
        nonlocal calls
        if fd != file._fd:
            return real_write(fd, data)
        calls += 1
        if calls == 1:
            return real_write(fd, bytes(data[:5]))  # part of it, then the disk is full
        if calls == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    file = SyncedFile(tmp_path / "j.jsonl")
    try:
        monkeypatch.setattr("simgate.device.group_sync.os.write", full_then_fine)
        file.append(b"first line\n")
        file.append(b"second line\n")
        with pytest.raises(OSError, match="No space"):
            await file.durable()
        file.append(b"third line\n")
        await file.durable()
    finally:
        file.close()
    assert (tmp_path / "j.jsonl").read_bytes() == b"first line\nsecond line\nthird line\n"


async def test_without_fsync_lines_are_written_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    monkeypatch.setattr("simgate.device.group_sync.os.fdatasync", synced.append)
    file = SyncedFile(tmp_path / "j.jsonl", enabled=False)
    file.append(b"a\n")
    file.append(b"b\n", wait=False)
    assert file.path.read_bytes() == b"a\nb\n"
    await file.durable()
    file.close()
    assert synced == []


def test_a_closed_file_takes_no_more_lines(tmp_path: Path) -> None:
    file = SyncedFile(tmp_path / "j.jsonl")
    file.append(b"kept\n", wait=False)
    file.close()
    file.close()  # twice is harmless
    assert (tmp_path / "j.jsonl").read_bytes() == b"kept\n"
    with pytest.raises(ValueError, match="closed"):
        file.append(b"late\n")
