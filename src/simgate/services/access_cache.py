"""What every API request reads before it writes, kept briefly in memory:
the account behind a (login, access key) pair, and the account's sending
policy with whether its opt-out list is empty.

These rows change rarely and are read on every request: three statements
before the insert of a one-message sendsms, most of its cost in the writer's
transaction. An entry lives `TTL_SECONDS` at most. A write to the tables they
come from, made through this process's engine (a key revoked on the
dashboard, a policy saved, a STOP received), forgets everything at once and
again after its commit (store/notify.watch_writes), so this node never
answers from what it has itself changed. A change made elsewhere (the
command line, another node on PostgreSQL) is seen within `TTL_SECONDS`.

A transaction that has written those tables and not yet committed neither
reads nor fills the cache: what it sees, others may never see. Wrong keys
are never cached (each try is checked against the store, as before), and an
entry read before a change is never stored after it (the generation taken
before the read must still be current).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Connection, Engine

from simgate.domain.policy import AccountPolicy
from simgate.store.accounts import Account
from simgate.store.notify import watch_writes
from simgate.store.tables import account_policies, accounts, api_keys, suppressions

# A key revoked on another node (or by the CLI) stops working within this time.
TTL_SECONDS = 1.0
# Enough for every active key of a large installation; the oldest go first.
MAX_ENTRIES = 4096

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class SendingFacts:
    """What the sending policy reads for each batch (services/sending_policy)."""

    policy: AccountPolicy
    optouts_empty: bool


class _Expiring(Generic[K, V]):
    """A small LRU map whose entries expire; not thread-safe by itself."""

    def __init__(self) -> None:
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K, now: float) -> V | None:
        found = self._entries.get(key)
        if found is None:
            return None
        if found[0] <= now:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return found[1]

    def put(self, key: K, value: V, expires: float) -> None:
        self._entries[key] = (expires, value)
        self._entries.move_to_end(key)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


class AccessCache:
    """The cache of one engine (see the module's docstring)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._generation = 0
        self._accounts: _Expiring[tuple[str, str], Account] = _Expiring()
        self._facts: _Expiring[int, SendingFacts] = _Expiring()
        # The conn.info key set by store/notify.watch_writes while a
        # transaction holds uncommitted writes to the watched tables.
        self.dirty_key = ""

    def generation(self) -> int:
        """Take it before reading what you will `put`."""
        return self._generation

    def forget(self) -> None:
        with self._lock:
            self._generation += 1
            self._accounts.clear()
            self._facts.clear()

    def usable(self, conn: Connection | None) -> bool:
        """False inside a transaction that wrote the watched tables."""
        return conn is None or not conn.info.get(self.dirty_key)

    def account(self, login: str, key_hash: str) -> Account | None:
        with self._lock:
            return self._accounts.get((login, key_hash), self._clock())

    def put_account(self, login: str, key_hash: str, account: Account, generation: int) -> None:
        with self._lock:
            if generation == self._generation:
                self._accounts.put((login, key_hash), account, self._clock() + TTL_SECONDS)

    def facts(self, account_id: int) -> SendingFacts | None:
        with self._lock:
            return self._facts.get(account_id, self._clock())

    def put_facts(self, account_id: int, facts: SendingFacts, generation: int) -> None:
        with self._lock:
            if generation == self._generation:
                self._facts.put(account_id, facts, self._clock() + TTL_SECONDS)


_caches: weakref.WeakKeyDictionary[Engine, AccessCache] = weakref.WeakKeyDictionary()
_caches_guard = threading.Lock()


def of(engine: Engine) -> AccessCache:
    """The engine's cache, made (and its commit hooks installed) on first use."""
    cache = _caches.get(engine)
    if cache is not None:
        return cache
    with _caches_guard:
        cache = _caches.get(engine)
        if cache is None:
            cache = AccessCache()
            watched = (accounts, api_keys, account_policies, suppressions)
            cache.dirty_key = watch_writes(engine, watched, cache.forget)
            _caches[engine] = cache
        return cache
