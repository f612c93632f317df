"""Message ids and short codes come from per-thread blocks of random symbols
(domain/ids): every id whole and base62, none repeated across block ends,
threads or a fork."""

from __future__ import annotations

import os
import re
import threading

import pytest

from simgate.domain import ids


def test_ids_across_many_blocks_are_whole_and_distinct() -> None:
    drawn = [ids.message_id() for _ in range(2000)] + [ids.short_code() for _ in range(2000)]
    assert all(re.fullmatch(r"[0-9A-Za-z]{15}", d) for d in drawn[:2000])
    assert all(re.fullmatch(r"[0-9A-Za-z]{11}", d) for d in drawn[2000:])
    assert len(set(drawn)) == len(drawn)


def test_threads_draw_from_blocks_of_their_own() -> None:
    found: list[list[str]] = [[] for _ in range(4)]

    def draw(out: list[str]) -> None:
        out.extend(ids.message_id() for _ in range(500))

    threads = [threading.Thread(target=draw, args=(out,)) for out in found]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [d for out in found for d in out]
    assert len(set(everything)) == len(everything) == 2000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    ids.message_id()  # the parent holds a block
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write its next id and leave at once
        os.write(write, ids.message_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert child != ids.message_id()
