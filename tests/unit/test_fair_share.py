"""Each webhook destination's fair share of the sender's places
(domain/fair_share.py): which rows of a claimed batch each host keeps, and
which go back to the store for a later round."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from simgate.domain.fair_share import full_hosts, host_cap, host_key, share_by_host

A, B, C = "http://a.example", "https://b.example/hook", "http://c.example:8080/x?y=1"
KEY_A, KEY_B, KEY_C = "http://a.example:", "https://b.example:", "http://c.example:8080"


class Row(NamedTuple):
    id: int
    url: str


def batch(*urls: str) -> list[Row]:
    return [Row(i, url) for i, url in enumerate(urls, start=1)]


def kept_ids(rows: list[Row], held: dict[str, int] | None = None, cap: int = 2) -> list[int]:
    return [row.id for row, _ in share_by_host(rows, lambda r: r.url, held or {}, cap).kept]


def test_one_busy_host_cannot_starve_the_others() -> None:
    rows = batch(*[A] * 10, B, C)
    share = share_by_host(rows, lambda r: r.url, {}, 3)
    assert [(row.id, host) for row, host in share.kept] == [
        (1, KEY_A),
        (2, KEY_A),
        (3, KEY_A),
        (11, KEY_B),
        (12, KEY_C),
    ]
    assert [row.id for row in share.handed_back] == list(range(4, 11))
    assert share.over_share == {KEY_A} and not share.whole


def test_a_hosts_cap_counts_what_it_already_holds() -> None:
    rows = batch(A, A, A, B)
    assert kept_ids(rows, {KEY_A: 1}, cap=2) == [1, 4]
    assert kept_ids(rows, {KEY_A: 2}, cap=2) == [4]
    assert kept_ids(rows, {KEY_A: 5}, cap=2) == [4]  # over the cap already: nothing more


def test_places_a_full_host_cannot_use_go_to_the_others() -> None:
    # A holds its whole share; B is not held back by A's count, only by its own.
    rows = batch(A, B, A, B, A, B)
    share = share_by_host(rows, lambda r: r.url, {KEY_A: 3, KEY_C: 1}, 3)
    assert [row.id for row, _ in share.kept] == [2, 4, 6]
    assert [row.id for row in share.handed_back] == [1, 3, 5]
    assert share.over_share == {KEY_A}


def test_an_empty_batch_keeps_nothing_and_hands_nothing_back() -> None:
    share = share_by_host([], lambda r: r.url, {KEY_A: 9}, 2)
    assert share.kept == [] and share.handed_back == [] and share.over_share == set()
    assert share.whole


def test_the_oldest_rows_of_a_host_win_and_the_split_is_the_same_every_time() -> None:
    rows = batch(B, A, B, A, B, A)
    first = share_by_host(rows, lambda r: r.url, {}, 2)
    assert [row.id for row, _ in first.kept] == [1, 2, 3, 4]
    assert [row.id for row in first.handed_back] == [5, 6]
    for _ in range(3):
        assert share_by_host(rows, lambda r: r.url, {}, 2) == first


def test_the_callers_counts_are_left_alone() -> None:
    held = {KEY_A: 1}
    share_by_host(batch(A, A), lambda r: r.url, held, 5)
    assert held == {KEY_A: 1}


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://A.Example/hook", "http://a.example:"),
        ("http://a.example:80/other", "http://a.example:80"),
        ("https://[::1]:8443/x", "https://::1:8443"),
        ("http://[x", "http://[x"),  # malformed: its attempt fails later with a clear error
    ],
)
def test_a_host_is_scheme_name_and_port(url: str, key: str) -> None:
    assert host_key(url) == key


def test_the_cap_is_a_share_per_place_and_never_more_than_half_of_all_held() -> None:
    assert host_cap(concurrency=64, per_host=8) == 128  # 16 per place of per_host
    assert host_cap(concurrency=4, per_host=8) == 8  # half of the 16 held
    assert full_hosts({KEY_A: 3, KEY_B: 2, KEY_C: 4}, 3) == {KEY_A, KEY_C}
