"""One fsync for many writes: the group commit of the agent's append-only files.

A sender as fast as an SMPP bind writes a line per step (a command taken, a
part on the wire, a report); an fsync per line on the event loop held it to
a few hundred a second and stopped everything else meanwhile. Instead the
writer notes each line (`wrote`) and awaits `durable()` before the step that
depends on it: one fsync in a worker thread covers every line written before
it began, so the steps that wait together share it.
"""

from __future__ import annotations

import asyncio
import os


class GroupSync:
    """The fsyncs of one open file, shared by whoever waits at the same time."""

    def __init__(self, fileno: int, enabled: bool = True) -> None:
        self._fileno = fileno
        self.enabled = enabled  # off only for benchmarks (`--no-fsync`)
        self._written = 0  # lines written, and how many of them an fsync covers
        self._synced = 0
        self._syncing: asyncio.Task[None] | None = None

    def wrote(self) -> None:
        """A line was written (and flushed) that a later `durable()` must cover."""
        self._written += 1

    async def durable(self) -> None:
        """Return once every line noted so far is on disk."""
        if not self.enabled:
            return
        target = self._written
        while self._synced < target:
            if self._syncing is None:
                self._syncing = asyncio.create_task(self._sync())
            await asyncio.shield(self._syncing)

    async def _sync(self) -> None:
        upto = self._written
        try:
            await asyncio.to_thread(os.fsync, self._fileno)
            self._synced = max(self._synced, upto)
        finally:
            self._syncing = None
