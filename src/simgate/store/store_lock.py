"""Who uses the SQLite store file: `simgate serve` and the other commands, or `simgate restore`.

A restore replaces the store file; a server (or an `accounts create`, a
`db upgrade`) with the old file open would go on writing to a file no longer
in place, and lose what it writes. So `serve` holds a shared `flock` on
`<store>.lock` (`simgate.db.lock` in the data folder) for its whole life,
every other command that opens the store holds it while it runs
(cli_options.open_store), and `restore` takes it exclusively, without
waiting: while any of them runs, the restore is refused; while a restore
runs, they refuse to start. Servers and commands share the lock among
themselves (they share the store through SQLite's own locking). `backup`
only reads, through SQLite's backup API, and takes no lock.

`flock` locks belong to an open file, not to a process: the kernel drops
them when the process ends, however it ends (a killed server leaves no stale
lock), and two opens in one process exclude each other like two processes.
The lock file itself is left in place: deleting it would let a second
process lock a new file while a first still holds the old one.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class StoreInUse(Exception):
    """The store is in use by a server (or being restored)."""


def lock_path(store: Path) -> Path:
    return store.with_name(store.name + ".lock")


@contextmanager
def serving(store: Path) -> Iterator[None]:
    """Held by `simgate serve`, and every command that opens `store`, while it runs."""
    with _locked(store, fcntl.LOCK_SH):
        yield


@contextmanager
def replacing(store: Path) -> Iterator[None]:
    """Held by `simgate restore` while it replaces `store`."""
    with _locked(store, fcntl.LOCK_EX):
        yield


@contextmanager
def _locked(store: Path, mode: int) -> Iterator[None]:
    path = lock_path(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Read-only is enough to lock, and lets a server running as another user
    # than the one who first made the file lock it too.
    fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if mode == fcntl.LOCK_SH:
                raise StoreInUse(f"{store} is being restored (lock {path} held)") from None
            raise StoreInUse(
                f"a server or another simgate command uses {store} (it holds {path}); stop it first"
            ) from None
        yield
    finally:
        os.close(fd)  # releases the lock
