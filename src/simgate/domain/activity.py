"""The keys of the activity rollups (activity_counts, migration 0008) and the
figures read from them, without I/O.

Per account and UTC hour the rollups count, under one key each:
- RECEIVED: SMS the account's phones received (by received_at);
- CLICKS / PREVIEWS: clicks on its links by people / by link previews (by
  clicked_at);
- `call:<kind>` and `qualified:<kind>`: its calls of each kind and those with
  at least one qualification (by the call's call_time, even when the call is
  qualified later);
- `label:<option id>:<text>`: qualifications of its calls (same account on
  both sides) by text and option (none: empty), by the call's call_time.
  PostgreSQL keys a label longer than its B-tree allows by the text's md5
  (`label#<option id>:<md5>`): the store looks the text up.

A range reads whole hours from the rollups and its edges from the rows
(domain/rollups.split); the edges are counted into the same keys, so that a
tally is one Counter whatever its source.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

RECEIVED = "received"
CLICKS = "click"
PREVIEWS = "preview"
_CALL = "call:"
_QUALIFIED = "qualified:"
_LABEL = "label:"
_HASHED_LABEL = "label#"

# key → how many
Tally = Mapping[str, int]


def call_key(kind: str) -> str:
    return _CALL + kind


def qualified_key(kind: str) -> str:
    return _QUALIFIED + kind


def label_key(option_id: int | None, text: str) -> str:
    return f"{_LABEL}{'' if option_id is None else option_id}:{text}"


def is_label(key: str) -> bool:
    return key.startswith((_LABEL, _HASHED_LABEL))


@dataclass(frozen=True, slots=True)
class LabelKey:
    option_id: int | None
    text: str  # the md5 of the text when hashed
    hashed: bool = False


def parse_label(key: str) -> LabelKey:
    """The option and text of a label key (its md5 if `hashed`)."""
    hashed = key.startswith(_HASHED_LABEL)
    prefix = _HASHED_LABEL if hashed else _LABEL
    assert key.startswith(prefix), key
    option, text = key[len(prefix) :].split(":", 1)
    return LabelKey(int(option) if option else None, text, hashed)


@dataclass(frozen=True, slots=True)
class KindTotal:
    kind: str
    calls: int
    qualified: int


def by_kind(tally: Tally) -> list[KindTotal]:
    """Calls and qualified calls of each kind that had any, by kind."""
    kinds = {key[len(_CALL) :] for key, n in tally.items() if key.startswith(_CALL) and n}
    return [
        KindTotal(kind, tally.get(call_key(kind), 0), tally.get(qualified_key(kind), 0))
        for kind in sorted(kinds)
    ]


@dataclass(frozen=True, slots=True)
class LabelTotal:
    label: str
    option_id: int | None  # the largest option among its qualifications (None: none had one)
    count: int


def by_label(counts: Iterable[tuple[LabelKey, int]]) -> list[LabelTotal]:
    """Per text: how many qualifications, and the largest option id among
    them, as SQL's max() gives it (pairs at zero left out); most used first,
    then by text in code-point order (SQLite's; PostgreSQL's collation may
    differ and is the store's to apply)."""
    found: dict[str, tuple[int | None, int]] = {}
    for key, n in counts:
        if not n:
            continue
        option, count = found.get(key.text, (None, 0))
        if key.option_id is not None and (option is None or key.option_id > option):
            option = key.option_id
        found[key.text] = (option, count + n)
    totals = [LabelTotal(text, option, n) for text, (option, n) in found.items() if n]
    return sorted(totals, key=lambda total: (-total.count, total.label))
