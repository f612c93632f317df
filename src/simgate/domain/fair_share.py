"""Each webhook destination's fair share of the sender's places: pure, no I/O.

The webhook sender (workers/webhooks.py) holds a bounded number of deliveries
in memory, sending or waiting for a slot. If one destination could take all
of them, a slow or dead receiver would hold back every other customer's
webhooks. So each destination host (scheme, host name and port) may hold at
most `cap` deliveries at once; a claimed batch keeps, in its own order (the
oldest first), what fits under each host's cap, and the rest is handed back
to the store for a later round. Places a host cannot use go to the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

# Deliveries held in memory per place of webhook_concurrency: enough that a
# free place always finds one ready.
HELD_PER_SLOT = 4
# One host may hold this many per place of webhook_per_host (and never more
# than half of all held), so slow receivers cannot take every place.
HOST_SHARE_PER_SLOT = 16


def max_held(concurrency: int) -> int:
    """How many deliveries the sender holds at most, all hosts together."""
    return HELD_PER_SLOT * concurrency


def host_cap(concurrency: int, per_host: int) -> int:
    """How many deliveries one host may hold at once."""
    return min(HOST_SHARE_PER_SLOT * per_host, max_held(concurrency) // 2)


def host_key(url: str) -> str:
    """The destination a URL's deliveries share: scheme, host name and port."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{(parts.hostname or '').lower()}:{parts.port or ''}"
    except ValueError:  # a malformed URL: its attempt fails with a clear error later
        return url


def full_hosts(held: Mapping[str, int], cap: int) -> set[str]:
    """The hosts holding their whole share: the next claim skips their rows."""
    return {host for host, count in held.items() if count >= cap}


@dataclass(frozen=True, slots=True)
class Share(Generic[T]):
    kept: list[tuple[T, str]]  # (item, its host), in the batch's order
    handed_back: list[T]  # over their host's share, in the batch's order
    over_share: set[str]  # hosts that had items handed back: they may have more due

    @property
    def whole(self) -> bool:
        """Nothing was handed back."""
        return not self.handed_back


def share_by_host(
    batch: Sequence[T], url_of: Callable[[T], str], held: Mapping[str, int], cap: int
) -> Share[T]:
    """Split `batch` (oldest first) into what each host may take now and the rest.

    `held` is how many deliveries each host holds already; a host never holds
    more than `cap` in all. Within a host the oldest items win, so the split
    depends only on the batch's order.
    """
    counts = dict(held)
    kept: list[tuple[T, str]] = []
    handed_back: list[T] = []
    over_share: set[str] = set()
    for item in batch:
        host = host_key(url_of(item))
        if counts.get(host, 0) < cap:
            counts[host] = counts.get(host, 0) + 1
            kept.append((item, host))
        else:
            handed_back.append(item)
            over_share.add(host)
    return Share(kept, handed_back, over_share)
