"""store.db.reading: a connection for reads that, on SQLite, does not queue
for the write lock (every service that only reads uses it)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine, func, select

from simgate.store.db import reading, run_write
from simgate.store.tables import accounts


def test_a_read_does_not_hold_back_a_write(engine: Engine) -> None:
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(accounts)).scalar_one() >= 0
        done = threading.Event()

        def write() -> None:
            run_write(engine, lambda c: c.execute(select(1)))  # an empty write transaction
            done.set()

        started = time.monotonic()
        threading.Thread(target=write, daemon=True).start()
        # With an ordinary connection this waits for the read to end (SQLite).
        assert done.wait(10) and time.monotonic() - started < 5
        # The read goes on in its own snapshot.
        assert conn.execute(select(func.count()).select_from(accounts)).scalar_one() >= 0
