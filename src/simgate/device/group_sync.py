"""One fsync for many writes: the group commit of the agent's append-only files.

A sender as fast as an SMPP bind writes a line per step (a command taken, a
part on the wire, a report); an fsync per line on the event loop held it to
a few hundred a second and stopped everything else meanwhile. Instead the
writer appends each line (`SyncedFile.append`) and awaits `durable()` before
the step that depends on it: one fdatasync covers every line appended before
it began, so the steps that wait together share it.

The writes and the syncs run in one long-lived thread for all the files of
the process (the agent's journal and the smpp driver's ledger): a round
writes every file's new lines with one write each, fdatasyncs the files
someone waits for, and wakes the event loop once. An executor job per sync
(`asyncio.to_thread`) cost a task, a future, a work item and a pool thread's
hand-off each, and the journal and the ledger each woke their own: together
about a fifth of the agent's CPU under a busy bind.

fdatasync, not fsync: the lines are appended, and fdatasync writes the
file's new size with them (what reading them back needs); it skips only the
times, which nothing here reads.

A line appended with `wait=False` (the journal's `done`) is written by the
next round and synced by the next sync of its file: lost in a crash, it only
repeats a report.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["SyncedFile", "read_entries"]


def read_entries(path: Path) -> list[dict[str, Any]]:
    """The JSON lines an append-only file holds (creating its folder), less a
    torn last line after a crash; for a writer that appends to it after."""
    path.parent.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue  # a torn last line after a crash
    return entries


class SyncedFile:
    """An append-only file whose lines reach the disk in groups (see the module
    docstring). `enabled=False` (benchmarks, `--no-fsync`) writes each line
    at once and never syncs."""

    def __init__(self, path: Path, enabled: bool = True) -> None:
        self.path = path
        self.enabled = enabled
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        # Owned by the event loop, taken by the sync thread at the start of a
        # round in this order: `_round`, `_appended`, then `_lines` (swapped
        # for an empty list). A line appended meanwhile is in the list taken
        # or counted after it: never counted as synced and left behind.
        self._lines: list[bytes] = []
        self._appended = 0  # lines written with `wait`
        self._round: asyncio.Future[None] | None = None  # resolved by the round that syncs
        self._synced = 0  # how many of `_appended` are on disk
        self._failed: OSError | None = None  # an fdatasync failed: see `_sync_round`
        # Held by the sync thread while it writes or syncs, so that close()
        # never frees the descriptor under it.
        self._io = threading.Lock()
        self.closed = False

    def append(self, line: bytes, *, wait: bool = True) -> None:
        """Write `line` (ending with a newline); a later `durable()` covers it
        when `wait`."""
        if self.closed:
            raise ValueError(f"{self.path} is closed")
        if not self.enabled:
            _write_all(self._fd, line)
            return
        self._lines.append(line)
        if wait:
            self._appended += 1
        # A line nobody waits for is not worth a round of its own: it goes
        # with the next one (or at close). A busy agent has one within
        # milliseconds; an idle one that crashes repeats a report or two.

    async def durable(self) -> None:
        """Return once every line appended with `wait` so far is on disk;
        raises OSError if writing or syncing failed."""
        if not self.enabled:
            return
        target = self._appended
        while self._synced < target:
            if self._failed is not None:
                raise self._failed
            waiting = self._round  # read once: the sync thread takes it when it starts
            if waiting is None:
                waiting = self._round = asyncio.get_running_loop().create_future()
                _syncer().ring(self)
            await asyncio.shield(waiting)

    def close(self) -> None:
        """Write and sync what is left (a stop's last `done` lines), then close."""
        if self.closed:
            return
        with self._io:
            self.closed = True
            lines, self._lines = self._lines, []
            try:
                _write_all(self._fd, b"".join(lines))
                if self.enabled and self._failed is None:
                    os.fdatasync(self._fd)
            finally:
                os.close(self._fd)

    # --- the sync thread's side ------------------------------------------------

    def _sync_round(self) -> tuple[asyncio.Future[None], int, OSError | None] | None:
        """In the sync thread: write this file's new lines, fdatasync them if
        someone waits; what the event loop must settle then (`_settle`)."""
        with self._io:
            if self.closed:
                return None
            waiting, self._round = self._round, None
            upto = self._appended
            lines, self._lines = self._lines, []
            error: OSError | None = self._failed
            if error is None:
                data = memoryview(b"".join(lines))
                try:
                    while data:
                        data = data[os.write(self._fd, data) :]
                except OSError as exc:  # a full disk: the rest waits for the next round
                    self._lines[0:0] = [bytes(data)]
                    error = exc
            if error is None and waiting is not None:
                try:
                    os.fdatasync(self._fd)
                except OSError as exc:
                    # Linux may have dropped the pages it could not write: a
                    # later fdatasync would succeed without them. The file is
                    # not trusted again in this run (the agent acks nothing).
                    self._failed = error = exc
        return None if waiting is None else (waiting, upto, error)

    def _settle(self, waiting: asyncio.Future[None], upto: int, error: OSError | None) -> None:
        """On the event loop: a round that synced (or failed) is over."""
        if error is None:
            self._synced = max(self._synced, upto)
        if not waiting.done():
            if error is None:
                waiting.set_result(None)
            else:
                waiting.set_exception(error)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _Syncer:
    """The thread that writes and syncs every SyncedFile of the process."""

    def __init__(self) -> None:
        self._rung_files: deque[SyncedFile] = deque()  # append and popleft are atomic
        # A lock used as a doorbell: held while the thread sleeps on it,
        # released once per round asked (`_rung` says it is released).
        self._bell = threading.Lock()
        self._bell.acquire()
        self._rung = False
        self._thread = threading.Thread(target=self._run, name="simgate-sync", daemon=True)
        self._thread.start()

    def ring(self, file: SyncedFile) -> None:
        """Ask for a round that writes (and, if it has waiters, syncs) `file`."""
        self._rung_files.append(file)
        if not self._rung:
            self._rung = True
            self._bell.release()

    def _run(self) -> None:
        while True:
            self._bell.acquire()
            self._rung = False  # before taking the files: a later ring rings again
            files: dict[SyncedFile, None] = {}
            while self._rung_files:
                files[self._rung_files.popleft()] = None
            settled: dict[asyncio.AbstractEventLoop, list[Callable[[], None]]] = {}
            for file in files:
                done = file._sync_round()
                if done is not None:
                    waiting = done[0]
                    settled.setdefault(waiting.get_loop(), []).append(
                        functools.partial(file._settle, *done)
                    )
            for loop, calls in settled.items():  # one wake-up of each loop
                with contextlib.suppress(RuntimeError):  # a loop closed meanwhile
                    loop.call_soon_threadsafe(_call_all, calls)


def _call_all(calls: list[Callable[[], None]]) -> None:
    for call in calls:
        call()


_instance: _Syncer | None = None
_starting = threading.Lock()


def _syncer() -> _Syncer:
    global _instance
    if _instance is None:
        with _starting:
            if _instance is None:
                _instance = _Syncer()
    return _instance
