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
bisections of sorted lists; fuzzy scores are rapidfuzz's, over the distinct
names (or words, for a one-word query) that share trigrams with the query
(GramIndex): a few milliseconds for 10^5 contacts.
"""

from __future__ import annotations

import heapq
import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter
from typing import Final, TypeVar

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
    name: str  # folded: ties of score go by name, then id

    @property
    def rank(self) -> tuple[int, str, int]:
        return (-self.score, self.name, self.contact_id)


def best(hits: Iterable[Hit], limit: int) -> list[Hit]:
    """The best `limit` of hits from several indexes (each contact once)."""
    return sorted(hits, key=lambda hit: hit.rank)[:limit]


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
    several requests may read it at once.

    Everything is keyed by distinct names and words (names repeat: the cost of
    a search follows the distinct names, not the contacts)."""

    def __init__(self, rows: Iterable[tuple[int, str, str]]) -> None:
        self.ids: list[int] = []
        self.names: list[str] = []
        by_name: dict[str, list[int]] = {}
        by_phone: dict[str, list[int]] = {}
        phones: list[str] = []
        for pos, (contact_id, name, phone) in enumerate(rows):
            self.ids.append(contact_id)
            self.names.append(name)
            phones.append(phone)
            by_name.setdefault(name, []).append(pos)
            by_phone.setdefault(phone, []).append(pos)
        by_word: dict[str, list[str]] = {}  # word -> distinct names holding it
        by_sorted: dict[str, list[str]] = {}  # words in order -> distinct names
        for name in by_name:
            by_sorted.setdefault(sorted_words(name), []).append(name)
            for word in set(name.split()):
                by_word.setdefault(word, []).append(name)
        # Tuples, not lists: the garbage collector stops tracking a tuple of
        # strings and ints, and a full collection over 10^5 tracked lists took
        # 250 ms, a pause every request of the process would wait on.
        self.by_name = _frozen(by_name)
        self.by_phone = _frozen(by_phone)
        self.by_word = _frozen(by_word)
        self.by_sorted = _frozen(by_sorted)
        self.name_keys = sorted(self.by_name)
        self.word_keys = sorted(self.by_word)
        self.fuzzy_keys = list(self.by_sorted)
        self.fuzzy_grams = GramIndex(self.fuzzy_keys)
        self.word_grams = GramIndex(self.word_keys)
        # "\n" around every distinct name: one substring search over one
        # string, then the offset says which name it was.
        self.blob = "\n" + "\n".join(self.name_keys) + "\n"
        self.starts = _line_starts(self.name_keys)
        self.phones = phones
        self.phone_blob = "\n" + "\n".join(phones) + "\n"
        self.phone_starts = _line_starts(phones)

    def __len__(self) -> int:
        return len(self.ids)

    def search(
        self,
        text: str,
        mode: str = "smart",
        fuzzy: bool = True,
        limit: int = 5,
        e164: str | None = None,
        exclude: frozenset[int] = frozenset(),
    ) -> list[Hit]:
        """The best `limit` contacts for `text`, best first (ties by name, then
        id). `e164` is the text read as a number in the account's region, when
        it is one: then only numbers are compared. Contacts in `exclude` are
        never found (a newer index holds them)."""
        hits: dict[int, tuple[int, str]] = {}
        if looks_like_phone(text):
            self._phones(text, e164, hits, limit, exclude)
            return self._rank(hits, limit)
        query = fold(text)
        if not query:
            return []
        words = query.split()
        bands: list[tuple[int, str, Iterator[str]]] = [
            (EXACT_NAME, "exact", iter(self._exact_names(query))),
            (EXACT_WORDS, "exact", self._word_names(words, whole=True)),
        ]
        if mode != "exact":
            # Sorted already: its first names are its best.
            bands.append((NAME_PREFIX, "starts_with", islice(self._prefixed_names(query), limit)))
            bands.append((WORD_PREFIX, "starts_with", self._word_names(words, whole=False)))
        for score, kind, names in bands:
            self._take(hits, limit, score, kind, names, exclude)
            if len(hits) >= limit:
                return self._rank(hits, limit)
        if mode == "smart":
            if fuzzy:
                self._fuzzy(query, hits, limit, exclude)
            if len(hits) < limit:
                names = _lines(self.blob, self.starts, self.name_keys, query, MAX_WALK)
                self._take(hits, limit, CONTAINS, "contains", names, exclude)
        return self._rank(hits, limit)

    def _take(
        self,
        hits: dict[int, tuple[int, str]],
        limit: int,
        score: int,
        kind: str,
        names: Iterator[str],
        exclude: frozenset[int],
    ) -> None:
        """The contacts of a band of equal scores, first by name then id, until
        `limit` are found in all (the bands come best first)."""
        # The best contacts of a band hold its first names: expand only those.
        wanted = limit - len(hits) + min(len(exclude), limit)  # some may be excluded
        first_names = heapq.nsmallest(wanted, dict.fromkeys(islice(names, MAX_WALK)))
        for name in first_names:
            for pos in sorted(self.by_name[name], key=self.ids.__getitem__):
                if pos not in hits and self.ids[pos] not in exclude:
                    hits[pos] = (score, kind)
                    if len(hits) >= limit:
                        return

    # -- where each band finds its names ---------------------------------------

    def _exact_names(self, query: str) -> list[str]:
        found = [query] if query in self.by_name else []
        found += [name for name in self.by_sorted.get(sorted_words(query), ()) if name != query]
        return found

    def _prefixed_names(self, query: str) -> Iterator[str]:
        keys = self.name_keys
        for index in range(bisect_left(keys, query), len(keys)):  # not islice: it walks from 0
            if not keys[index].startswith(query):
                return
            yield keys[index]

    def _word_names(self, words: list[str], whole: bool) -> Iterator[str]:
        """Names where each query word is (whole) or starts (not whole) a word
        of its own. The longest query word picks the candidates; the others
        filter them."""
        if not words:
            return
        anchor = max(words, key=len)
        others = list(words)
        others.remove(anchor)
        if whole:
            matching = [anchor] if anchor in self.by_word else []
        else:
            keys = self.word_keys
            start = bisect_left(keys, anchor)
            matching = []
            for index in range(start, min(start + MAX_WALK, len(keys))):
                if not keys[index].startswith(anchor):
                    break
                matching.append(keys[index])
        seen: set[str] = set()
        for word in matching:
            for name in self.by_word[word]:
                if name in seen:
                    continue
                seen.add(name)
                if not others or _words_fit(name.split(), anchor, others, whole):
                    yield name

    def _fuzzy(
        self, query: str, hits: dict[int, tuple[int, str]], limit: int, exclude: frozenset[int]
    ) -> None:
        scored: dict[str, float] = {}
        if " " in query:  # a whole name with a typo, words in any order
            key_query = sorted_words(query)
            for key, ratio, _ in process.extract(
                key_query,
                self.fuzzy_grams.candidates(key_query),
                scorer=fuzz.ratio,
                processor=None,
                score_cutoff=FUZZY_CUTOFF,
                limit=limit * 2,
            ):
                for name in self.by_sorted[key]:
                    scored[name] = max(scored.get(name, 0.0), ratio)
        else:  # one word: a typo in a first or last name alone
            for word, ratio, _ in process.extract(
                query,
                self.word_grams.candidates(query),
                scorer=fuzz.ratio,
                processor=None,
                score_cutoff=FUZZY_CUTOFF,
                limit=limit * 2,
            ):
                for name in self.by_word[word][: limit * 2]:
                    scored[name] = max(scored.get(name, 0.0), ratio)
        by_score: dict[int, list[str]] = {}
        for name, ratio in scored.items():
            by_score.setdefault(fuzzy_score(ratio), []).append(name)
        for score in sorted(by_score, reverse=True):
            self._take(hits, limit, score, "fuzzy", iter(by_score[score]), exclude)
            if len(hits) >= limit:
                return

    def _phones(
        self,
        text: str,
        e164: str | None,
        hits: dict[int, tuple[int, str]],
        limit: int,
        exclude: frozenset[int],
    ) -> None:
        if e164 is not None:
            for pos in self.by_phone.get(e164, ())[:limit]:
                if self.ids[pos] not in exclude:
                    hits[pos] = (PHONE_EXACT, "phone")
        digits = phone_digits(text)
        if digits and len(hits) < limit:
            for number in _lines(
                self.phone_blob, self.phone_starts, self.phones, digits, limit * 2
            ):
                for pos in self.by_phone[number]:
                    if self.ids[pos] not in exclude:
                        hits.setdefault(pos, (PHONE_PART, "phone"))
                if len(hits) >= limit:
                    return

    def _rank(self, hits: dict[int, tuple[int, str]], limit: int) -> list[Hit]:
        order = sorted(hits.items(), key=lambda kv: (-kv[1][0], self.names[kv[0]], self.ids[kv[0]]))
        return [
            Hit(self.ids[pos], score, kind, self.names[pos]) for pos, (score, kind) in order[:limit]
        ]


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


_NONE = array("i")

K = TypeVar("K")
V = TypeVar("V")


def _frozen(mapping: dict[K, list[V]]) -> dict[K, tuple[V, ...]]:
    return {key: tuple(values) for key, values in mapping.items()}


def trigrams(text: str) -> set[str]:
    padded = f" {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


class GramIndex:
    """Which strings share trigrams with a query: fuzzy scoring looks only at
    those sharing a quarter of the query's trigrams, not at all 10^5 names.

    A prefilter, not a score: a name a typo away shares most trigrams ("cecille
    duboiss" and "cecile dubois" share 11 of 16). When the query's trigrams are
    so common that gathering them costs more than scoring everything, every
    string is a candidate.
    """

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        postings: dict[str, list[int]] = {}
        for index, key in enumerate(keys):
            for gram in trigrams(key):
                postings.setdefault(gram, []).append(index)
        # Arrays hold no Python objects: nothing for the garbage collector.
        self.postings = {gram: array("i", indexes) for gram, indexes in postings.items()}

    def candidates(self, query: str) -> Sequence[str]:
        """Every string that shares a quarter of the query's trigrams, and
        some more: any such string holds one of the query's rarest three
        quarters, so the union of those is taken (in C: no per-string Python)."""
        grams = trigrams(query)
        lists = sorted((self.postings.get(gram, _NONE) for gram in grams), key=len)
        rarest = lists[: len(lists) - max(1, len(lists) // 4) + 1]
        if sum(map(len, rarest)) > len(self.keys):
            return self.keys
        found = set().union(*rarest)
        if len(found) < 2:
            return [self.keys[index] for index in found]
        return itemgetter(*found)(self.keys)  # type: ignore[no-any-return]


def _line_starts(lines: list[str]) -> list[int]:
    """Where each line begins in "\n" + "\n".join(lines) + "\n"."""
    starts: list[int] = []
    offset = 1
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    return starts


def _lines(blob: str, starts: list[int], lines: list[str], needle: str, most: int) -> Iterator[str]:
    """The lines of `blob` that hold `needle`, each once, in order."""
    if "\n" in needle or not needle:
        return
    found = 0
    at = blob.find(needle)
    while at != -1 and found < most:
        index = bisect_right(starts, at) - 1
        found += 1
        yield lines[index]
        at = blob.find(needle, starts[index + 1] if index + 1 < len(starts) else len(blob))
