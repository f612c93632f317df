"""Random identifiers and key hashing."""

from __future__ import annotations

import math
import re
from collections import Counter

from simgate.domain import ids


def test_short_code_is_base62_with_at_least_60_bits() -> None:
    code = ids.short_code()
    assert re.fullmatch(r"[0-9A-Za-z]+", code)
    assert len(code) >= 10
    assert len(code) * math.log2(62) >= 60


def test_message_id_looks_like_the_reference() -> None:
    assert re.fullmatch(r"[0-9A-Za-z]{15}", ids.message_id())


def test_codes_do_not_repeat_and_use_the_whole_alphabet() -> None:
    codes = [ids.short_code() for _ in range(20000)]
    assert len(set(codes)) == len(codes)
    counts = Counter("".join(codes))
    assert set(counts) == set(ids.BASE62)
    # Roughly uniform: each of 62 symbols near 1/62 of 220,000 characters.
    expected = len(codes) * ids.SHORT_CODE_LENGTH / 62
    assert all(abs(n - expected) < expected * 0.1 for n in counts.values())


def test_secret_has_prefix_and_entropy() -> None:
    key = ids.new_secret(ids.ACCESS_KEY_PREFIX)
    assert key.startswith("sgk_")
    assert len(key[4:]) * math.log2(62) >= 250
    assert ids.new_secret("sgk_") != key


def test_hash_and_compare() -> None:
    key = ids.new_secret("sgk_")
    stored = ids.hash_secret(key)
    assert key not in stored and len(stored) == 64
    assert ids.secret_matches(key, stored)
    assert not ids.secret_matches(key + "x", stored)
    assert ids.secret_matches_hash(ids.hash_secret(key), stored)


def test_event_ids_sort_by_time_and_do_not_repeat() -> None:
    first = ids.event_id(now=1_773_000_000.000)
    later = ids.event_id(now=1_773_000_000.001)
    assert re.fullmatch(r"msg_[0-9a-f]{28}", first)
    assert first[4:16] == f"{1_773_000_000_000:012x}"
    assert first < later  # a prune of the oldest rows touches few index pages
    same_millisecond = {ids.event_id(now=1_773_000_000.0) for _ in range(10000)}
    assert len(same_millisecond) == 10000
