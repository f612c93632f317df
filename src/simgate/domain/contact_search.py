"""Scoring contact searches: an in-memory index of one account's names.

Pure, no I/O: services/contact_book builds a `NameIndex` from the store's
(id, folded name, E.164 number) rows and keeps it while the account's
contacts do not change.

A search folds its text (domain/search.fold) and looks for, best first:

    score  match_type    when
    100    exact         the whole name, in either word order
     95    exact         every word of the query is a whole word of the name
     90    starts_with   the name starts with the query
     85    starts_with   every word of the query starts a word of the name
  63-84    fuzzy         a typo away (rapidfuzz ratio >= 75, scaled by 0.84)
     50    contains      the query is inside the name
    100    phone         the query is the contact's number (any format)
     80    phone         the query's digits are inside the number

The bands do not overlap, so a band is looked at only while the better ones
have found fewer than `limit` contacts: a one-letter search stops after the
prefix lookups instead of scoring 10^5 names. Lookups are dictionary hits and
bisections of sorted lists; fuzzy scores are rapidfuzz's C loop over every
name (about 10 ms per 10^5 names).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from rapidfuzz import fuzz, process

from simgate.domain.search import fold

MODES: Final = ("smart", "exact", "starts_with")

EXACT_NAME: Final = 100
EXACT_WORDS: Final = 95
NAME_PREFIX: Final = 90
WORD_PREFIX: Final = 85
FUZZY_CUTOFF: Final = 75.0  # rapidfuzz ratio under which a name is no match
FUZZY_SCALE: Final = 0.84  # maps ratio 75-100 to 63-84, under every prefix match
CONTAINS: Final = 50
PHONE_EXACT: Final = 100
PHONE_PART: Final = 80

# How many index entries one band may walk before it stops: bounds the work of
# a very common query ("a") whatever the account's size.
MAX_WALK: Final = 5000

_PHONE_LIKE = re.compile(r"^[+\d\s().\-/]+$")
MIN_PHONE_DIGITS: Final = 3


@dataclass(frozen=True, slots=True)
class Hit:
    contact_id: int
    score: int
    match_type: str


def looks_like_phone(text: str) -> bool:
    """Digits and the signs numbers are written with, and at least 3 digits."""
    return bool(_PHONE_LIKE.match(text)) and sum(ch.isdigit() for ch in text) >= MIN_PHONE_DIGITS


def phone_digits(text: str) -> str:
    """The digits to look for inside E.164 numbers: a trunk `0` or an
    international `00` is no part of the stored number."""
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.strip().startswith("+"):
        return digits
    return digits.lstrip("0") or digits


def sorted_words(name: str) -> str:
    """The name's words in alphabetical order: "dubois cecile" and "cecile
    dubois" become the same key."""
    return " ".join(sorted(name.split()))


def fuzzy_score(ratio: float) -> int:
    return round(ratio * FUZZY_SCALE)


class NameIndex:
    """One account's live contacts, ready to search. Immutable once built, so
    several requests may read it at once."""

    def __init__(self, rows: Iterable[tuple[int, str, str]]) -> None:
        self.ids: list[int] = []
        self.names: list[str] = []
        self.phones: list[str] = []
        for contact_id, name, phone in rows:
            self.ids.append(contact_id)
            self.names.append(name)
            self.phones.append(phone)
        self.by_name: dict[str, list[int]] = {}
        self.by_sorted: dict[str, list[int]] = {}
        self.by_phone: dict[str, list[int]] = {}
        word_entries: list[tuple[str, int]] = []
        for pos, name in enumerate(self.names):
            self.by_name.setdefault(name, []).append(pos)
            self.by_sorted.setdefault(sorted_words(name), []).append(pos)
            self.by_phone.setdefault(self.phones[pos], []).append(pos)
            word_entries.extend((word, pos) for word in set(name.split()))
        word_entries.sort()
        self.word_keys = [word for word, _ in word_entries]
        self.word_pos = [pos for _, pos in word_entries]
        name_order = sorted(range(len(self.names)), key=self.names.__getitem__)
        self.name_keys = [self.names[pos] for pos in name_order]
        self.name_pos = name_order
        self.fuzzy_keys = [sorted_words(name) for name in self.names]
        self.unique_words = sorted(set(self.word_keys))
        # "\n" around every name: a substring search over one string, then the
        # offset says whose name it was.
        self.blob = "\n" + "\n".join(self.names) + "\n"
        self.starts: list[int] = []
        offset = 1
        for name in self.names:
            self.starts.append(offset)
            offset += len(name) + 1
        self.phone_blob = "\n" + "\n".join(self.phones) + "\n"
        self.phone_starts: list[int] = []
        offset = 1
        for phone in self.phones:
            self.phone_starts.append(offset)
            offset += len(phone) + 1

    def __len__(self) -> int:
        return len(self.ids)

    def search(
        self,
        text: str,
        mode: str = "smart",
        fuzzy: bool = True,
        limit: int = 5,
        e164: str | None = None,
    ) -> list[Hit]:
        """The best `limit` contacts for `text`, best first (ties by name, then
        id). `e164` is the text read as a number in the account's region, when
        it is one: then only numbers are compared."""
        if looks_like_phone(text):
            return self._rank(self._phone_hits(text, e164, limit), limit)
        query = fold(text)
        if not query:
            return []
        hits: dict[int, tuple[int, str]] = {}
        self._exact(query, hits)
        if mode != "exact" and len(hits) < limit:
            self._prefixes(query, hits, limit)
        if mode == "smart":
            if fuzzy and len(hits) < limit:
                self._fuzzy(query, hits, limit)
            if len(hits) < limit:
                self._contains(query, hits, limit)
        return self._rank(hits, limit)

    # -- bands ------------------------------------------------------------

    def _exact(self, query: str, hits: dict[int, tuple[int, str]]) -> None:
        for pos in self.by_name.get(query, ()):
            _keep(hits, pos, EXACT_NAME, "exact")
        for pos in self.by_sorted.get(sorted_words(query), ()):
            _keep(hits, pos, EXACT_NAME, "exact")
        words = query.split()
        for pos in self._all_words_match(words, whole=True):
            _keep(hits, pos, EXACT_WORDS, "exact")

    def _prefixes(self, query: str, hits: dict[int, tuple[int, str]], limit: int) -> None:
        start = bisect_left(self.name_keys, query)
        for index in range(start, min(start + MAX_WALK, len(self.name_keys))):
            if not self.name_keys[index].startswith(query):
                break
            _keep(hits, self.name_pos[index], NAME_PREFIX, "starts_with")
            if len(hits) >= limit:
                return
        for pos in self._all_words_match(query.split(), whole=False):
            _keep(hits, pos, WORD_PREFIX, "starts_with")
            if len(hits) >= limit:
                return

    def _all_words_match(self, words: list[str], whole: bool) -> Iterator[int]:
        """Names where each query word is (whole) or starts (not whole) a word.
        The longest query word picks the candidates; the others filter them."""
        if not words:
            return
        anchor = max(words, key=len)
        others = [word for word in words if word is not anchor]
        seen: set[int] = set()
        start = bisect_left(self.word_keys, anchor)
        for index in range(start, min(start + MAX_WALK, len(self.word_keys))):
            key = self.word_keys[index]
            if not key.startswith(anchor):
                break
            if whole and key != anchor:
                break  # whole words sort first among those that start alike
            pos = self.word_pos[index]
            if pos in seen:
                continue
            seen.add(pos)
            if others and not _words_fit(self.names[pos].split(), anchor, others, whole):
                continue
            yield pos

    def _fuzzy(self, query: str, hits: dict[int, tuple[int, str]], limit: int) -> None:
        found = process.extract(
            sorted_words(query),
            self.fuzzy_keys,
            scorer=fuzz.ratio,
            processor=None,
            score_cutoff=FUZZY_CUTOFF,
            limit=limit * 2,
        )
        for _, ratio, pos in found:
            _keep(hits, pos, fuzzy_score(ratio), "fuzzy")
        if " " not in query:  # one word: a typo in a first or last name alone
            words = process.extract(
                query,
                self.unique_words,
                scorer=fuzz.ratio,
                processor=None,
                score_cutoff=FUZZY_CUTOFF,
                limit=limit,
            )
            for word, ratio, _ in words:
                start = bisect_left(self.word_keys, word)
                for index in range(start, min(start + limit, len(self.word_keys))):
                    if self.word_keys[index] != word:
                        break
                    _keep(hits, self.word_pos[index], fuzzy_score(ratio), "fuzzy")

    def _contains(self, query: str, hits: dict[int, tuple[int, str]], limit: int) -> None:
        for pos in _occurrences(self.blob, self.starts, query, limit + len(hits)):
            _keep(hits, pos, CONTAINS, "contains")
            if len(hits) >= limit:
                return

    def _phone_hits(self, text: str, e164: str | None, limit: int) -> dict[int, tuple[int, str]]:
        hits: dict[int, tuple[int, str]] = {}
        if e164 is not None:
            for pos in self.by_phone.get(e164, ()):
                _keep(hits, pos, PHONE_EXACT, "phone")
        digits = phone_digits(text)
        if digits and len(hits) < limit:
            for pos in _occurrences(self.phone_blob, self.phone_starts, digits, limit + len(hits)):
                _keep(hits, pos, PHONE_PART, "phone")
                if len(hits) >= limit:
                    break
        return hits

    def _rank(self, hits: dict[int, tuple[int, str]], limit: int) -> list[Hit]:
        order = sorted(hits.items(), key=lambda kv: (-kv[1][0], self.names[kv[0]], self.ids[kv[0]]))
        return [Hit(self.ids[pos], score, kind) for pos, (score, kind) in order[:limit]]


def _keep(hits: dict[int, tuple[int, str]], pos: int, score: int, kind: str) -> None:
    """A contact's best match wins."""
    if pos not in hits or hits[pos][0] < score:
        hits[pos] = (score, kind)


def _words_fit(name_words: list[str], anchor: str, others: list[str], whole: bool) -> bool:
    """Every other query word matches a word of the name, each word used once
    (the anchor takes the first word it matches)."""
    free = list(name_words)
    for word in [anchor, *others]:
        for index, candidate in enumerate(free):
            if candidate == word or (not whole and candidate.startswith(word)):
                del free[index]
                break
        else:
            return False
    return True


def _occurrences(blob: str, starts: list[int], needle: str, most: int) -> Iterator[int]:
    """Positions of the lines of `blob` that hold `needle`, each once, in order."""
    if "\n" in needle:
        return
    seen = -1
    found = 0
    at = blob.find(needle)
    walked = 0
    while at != -1 and found < most and walked < MAX_WALK * 4:
        walked += 1
        pos = bisect_left(starts, at + 1) - 1
        if pos != seen:
            seen = pos
            found += 1
            yield pos
            at = starts[pos + 1] if pos + 1 < len(starts) else len(blob)
        else:
            at += 1
        at = blob.find(needle, at)
