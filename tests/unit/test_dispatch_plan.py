"""Who gets how many SMS, and which ones: each device's send rate (a token
bucket), its in-flight cap, and the spread of an account's due messages over
its devices. Pure functions, time given by the test."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from simgate.services.accounts import Account
from simgate.services.dispatch import assign, limit_in_flight
from simgate.workers.hub import Hub, Link

ACCOUNT = Account(1, "owner@example.com", "Europe/Paris", "FR")


async def _nowhere(*_: Any) -> None:
    raise AssertionError("a budget test sends nothing")


def link(
    rate: int,
    device_id: int = 7,
    tokens: float = 1.0,
    capabilities: frozenset[str] = frozenset({"sms", "call"}),
    account: Account = ACCOUNT,
) -> Link:
    return Link(
        device_id=device_id,
        account=account,
        rate_per_minute=rate,
        send=_nowhere,
        close=_nowhere,
        capabilities=capabilities,
        tokens=tokens,
        refilled_at=0.0,
    )


# --- the token bucket ----------------------------------------------------------


def test_a_device_starts_with_one_sms_and_earns_more_at_its_rate() -> None:
    phone = link(rate=60)  # one a second
    assert phone.capacity(0.0) == 1
    phone.spend(1)
    assert phone.capacity(0.0) == 0
    assert phone.capacity(0.5) == 0  # half an SMS is kept, not lost
    assert phone.capacity(1.0) == 1
    phone.spend(1)
    assert phone.capacity(3.0) == 2


def test_an_idle_device_saves_up_to_two_seconds_of_its_rate() -> None:
    assert link(rate=6000).capacity(3600.0) == 200
    assert link(rate=60).capacity(3600.0) == 2
    # However slow the rate, a burst holds one SMS.
    slow = link(rate=1, tokens=0.0)
    assert slow.capacity(30.0) == 0
    assert slow.capacity(60.0) == 1
    assert slow.capacity(600.0) == 1


def test_a_device_without_the_sms_capability_gets_none() -> None:
    reporter = link(rate=6000, capabilities=frozenset())
    assert reporter.capacity(3600.0) == 0
    assert link(rate=6000, capabilities=frozenset({"call"})).capacity(3600.0) == 0


def test_the_hub_plans_by_account_and_leaves_out_devices_with_no_budget() -> None:
    hub = Hub()
    other = Account(2, "other@example.com", "Europe/Paris", "FR")
    hub.add(link(rate=600, device_id=1))
    hub.add(link(rate=600, device_id=2, tokens=0.0))
    hub.add(link(rate=600, device_id=3, account=other))
    assert hub.plan(0.0) == {1: {1: 1}, 2: {3: 1}}
    assert hub.plan(1.0) == {1: {1: 11, 2: 10}, 2: {3: 11}}


# --- the in-flight cap ---------------------------------------------------------


def test_the_in_flight_cap_leaves_each_device_the_room_it_has() -> None:
    plan = {1: {10: 50, 11: 50, 12: 50}, 2: {20: 5}}
    held = {10: 0, 11: 190, 12: 200, 20: 300}
    assert limit_in_flight(plan, held, max_in_flight=200) == {1: {10: 50, 11: 10}}


def test_a_device_holding_nothing_is_not_in_the_counts() -> None:
    assert limit_in_flight({1: {10: 3}}, {}, max_in_flight=2) == {1: {10: 2}}


# --- which device gets which message -------------------------------------------


class Row(NamedTuple):
    id: int


ROWS = [Row(i) for i in range(1, 7)]


def ids(assigned: dict[int, list[Row]]) -> dict[int, list[int]]:
    return {device: [r.id for r in rows] for device, rows in assigned.items()}


def test_messages_go_round_robin_in_their_order() -> None:
    assert ids(assign(ROWS[:4], {1: 2, 2: 2}, {})) == {1: [1, 3], 2: [2, 4]}


def test_no_device_gets_more_than_its_capacity_and_the_rest_waits() -> None:
    # The roomier device comes first; the one with a single slot takes one.
    assert ids(assign(ROWS, {1: 1, 2: 3}, {})) == {2: [1, 3, 4], 1: [2]}
    assert assign(ROWS, {1: 0}, {}) == {}


def test_a_message_avoids_a_device_it_failed_on() -> None:
    assigned = ids(assign(ROWS[:2], {1: 2, 2: 2}, {1: {1}}))
    assert 1 in assigned[2] and 1 not in assigned.get(1, [])


def test_a_message_goes_back_to_the_device_it_failed_on_when_no_other_has_room() -> None:
    assert ids(assign(ROWS[:1], {1: 1, 2: 0}, {1: {1}})) == {1: [1]}


@pytest.mark.parametrize("capacity", [{1: 3}, {1: 1, 2: 1, 3: 1}, {1: 5, 2: 1}])
def test_every_row_is_assigned_once_while_there_is_room(capacity: dict[int, int]) -> None:
    assigned = assign(ROWS, capacity, {2: {1}, 3: {1, 2}})
    flat = [r.id for rows in assigned.values() for r in rows]
    assert sorted(flat) == list(range(1, 1 + min(len(ROWS), sum(capacity.values()))))
    for device, rows in assigned.items():
        assert len(rows) <= capacity[device]
        assert [r.id for r in rows] == sorted(r.id for r in rows)  # order kept per device


def test_results_waiting_to_be_stored_are_named_for_the_planned_devices_only() -> None:
    hub = Hub()
    planned, resting = link(rate=600, device_id=1), link(rate=600, device_id=2, tokens=0.0)
    planned.settling |= {11, 12}
    resting.settling |= {21}
    hub.add(planned)
    hub.add(resting)
    assert hub.settling(hub.plan(0.0)) == {11, 12}


def test_a_device_with_most_of_its_cap_in_hand_waits_for_its_top_up() -> None:
    """Results free room one by one; the hub plans the device again only once
    a quarter of its cap is free, not at each result (a transaction each)."""
    hub = Hub()
    phone = link(rate=60000, device_id=1)
    hub.add(phone)
    assert hub.plan(1.0, max_in_flight=200) == {1: {1: 1001}}  # not counted yet: planned
    phone.holding = 200
    for _ in range(49):
        phone.reported()
        assert hub.plan(1.0, max_in_flight=200) == {}
    phone.reported()  # 150 in hand: 50 free
    assert hub.plan(1.0, max_in_flight=200) == {1: {1: 1001}}
    assert (phone.holding, phone.results) == (150, 50)
    phone.holding = 200
    assert hub.plan(1.0) == {1: {1: 1001}}  # a sweep round plans everyone


def test_a_small_cap_is_topped_up_as_soon_as_one_sms_is_free() -> None:
    phone = link(rate=60000)
    phone.holding = 3
    assert phone.well_supplied(3)
    phone.reported()
    assert not phone.well_supplied(3)
    phone.holding = 0
    phone.reported()  # a result the last count had already left out
    assert phone.holding == 0
