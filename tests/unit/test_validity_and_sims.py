"""Validity and SIM choice, the pure parts: the device protocol's fields
(`sims` in a hello, `valid_until` and `sim` in send_sms), the stored slot
list, the app's validUntil, SIM-aware assignment, an expired message's timeline."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simgate.device import protocol
from simgate.device.protocol import FrameError, Hello, parse_device_frame
from simgate.domain.policy import MAX_SIM
from simgate.services.mobile import _valid_until
from simgate.store.devices import decode_slots, encode_slots
from simgate.store.mobile import Assigned


def hello(**fields: Any) -> str:
    return json.dumps({"type": "hello", "protocol": 1, **fields})


def test_a_hello_may_declare_its_sims() -> None:
    parsed = parse_device_frame(hello(sims=[2, 1]))
    assert isinstance(parsed, Hello) and parsed.sims == (1, 2)
    plain = parse_device_frame(hello())
    assert isinstance(plain, Hello) and plain.sims is None  # did not say: SIM 1 only


GOOD_SLOT = st.integers(1, MAX_SIM)
BAD_SIMS = st.one_of(
    st.just([]),
    st.lists(GOOD_SLOT, min_size=MAX_SIM + 1, max_size=MAX_SIM + 3),
    st.lists(st.integers().filter(lambda v: not 1 <= v <= MAX_SIM), min_size=1, max_size=3),
    st.lists(GOOD_SLOT, min_size=1, max_size=3).map(lambda v: v + v[:1]),  # a repeat
    st.lists(
        st.one_of(
            st.booleans(),
            st.floats(allow_nan=False, allow_infinity=False),
            st.text(max_size=3),
            st.none(),
        ),
        min_size=1,
    ),
    st.one_of(
        st.integers(), st.text(max_size=5), st.booleans(), st.dictionaries(st.text(), st.integers())
    ),
)


@given(BAD_SIMS)
def test_bad_sims_are_refused_with_a_frame_error(sims: Any) -> None:
    with pytest.raises(FrameError, match="sims"):
        parse_device_frame(hello(sims=sims))


@given(st.lists(GOOD_SLOT, min_size=1, max_size=MAX_SIM, unique=True))
def test_good_sims_are_kept_sorted_and_survive_the_store(sims: list[int]) -> None:
    parsed = parse_device_frame(hello(sims=sims))
    assert isinstance(parsed, Hello) and parsed.sims == tuple(sorted(sims))
    assert decode_slots(encode_slots(parsed.sims)) == frozenset(sims)


@pytest.mark.parametrize("raw", [None, "", "not json", "{}", "[]", '["1"]', "[true]"])
def test_a_stored_slot_list_that_says_nothing_usable_is_slot_1(raw: str | None) -> None:
    assert decode_slots(raw) == {1}


def test_send_sms_carries_validity_and_sim_only_when_there_are() -> None:
    plain = protocol.send_sms(12, 0, "+33612345678", "hi")
    assert plain == {"type": "send_sms", "id": "12.0", "to": "+33612345678", "text": "hi"}
    full = protocol.send_sms(
        12, 1, "+33612345678", "hi", valid_until=datetime(2030, 1, 2, 3, 4, 5, 6000), sim=2
    )
    assert full["valid_until"] == "2030-01-02T03:04:05.006Z" and full["sim"] == 2
    options = protocol.send_options(full)
    assert options == protocol.SendOptions(datetime(2030, 1, 2, 3, 4, 5, 6000), 2)


@given(
    st.one_of(
        st.none(),
        st.integers(),
        st.text(max_size=30),
        st.booleans(),
        st.floats(),
    ),
    st.one_of(
        st.none(),
        st.integers(),
        st.text(max_size=3),
        st.booleans(),
        st.floats(),
    ),
)
def test_an_agent_drops_send_options_it_cannot_use(valid_until: Any, sim: Any) -> None:
    frame = {"type": "send_sms", "id": "1.0", "to": "+1", "text": "x"}
    frame |= {"valid_until": valid_until, "sim": sim}
    options = protocol.send_options(frame)
    assert options.sim is None or (type(sim) is int and options.sim == sim and 1 <= sim <= MAX_SIM)
    assert options.valid_until is None or isinstance(valid_until, str)


def _assigned(valid_until: datetime | None) -> Assigned:
    at = datetime(2030, 1, 1, 9, 0)
    return Assigned(1, 0, "+33612345678", "hi", 0, at, at, valid_until, None)


def test_the_apps_valid_until_is_the_earlier_of_result_timeout_and_validity() -> None:
    assert _valid_until(_assigned(None), 600) == datetime(2030, 1, 1, 9, 10)
    assert _valid_until(_assigned(datetime(2030, 1, 1, 9, 2)), 600) == datetime(2030, 1, 1, 9, 2)
    assert _valid_until(_assigned(datetime(2030, 1, 1, 10)), 600) == datetime(2030, 1, 1, 9, 10)


def test_assign_places_a_named_sim_only_on_a_device_that_has_it() -> None:
    from types import SimpleNamespace

    from simgate.services.dispatch import assign

    rows = [SimpleNamespace(id=n, sim=sim) for n, sim in enumerate([2, None, 3, 2, None])]
    placed = assign(rows, {10: 5, 20: 5}, {}, {10: frozenset({1}), 20: frozenset({1, 2})})
    by_row = {row.id: device for device, group in placed.items() for row in group}
    assert by_row[0] == by_row[3] == 20  # SIM 2: only device 20 has it
    assert 2 not in by_row  # SIM 3: nobody has it, it stays queued
    assert {by_row[1], by_row[4]} <= {10, 20}
    # A device full of work leaves a SIM-2 row queued rather than on the wrong device.
    full = assign(rows[:1], {10: 5, 20: 0}, {}, {10: frozenset({1}), 20: frozenset({1, 2})})
    assert full == {}


def test_an_expired_messages_timeline_ends_expired_not_failed() -> None:
    from simgate.domain.delivery import delivery_status, timeline

    created, ended = datetime(2030, 1, 1, 9, 0), datetime(2030, 1, 1, 9, 5)
    reason = "its validity ended before a phone took it"
    steps = timeline(
        created, created, None, None, None, ended, reason, [(ended, "expired", reason)]
    )
    assert [state for _, state, _ in steps] == ["queued", "expired"]
    assert delivery_status("expired") == "failed"


def test_an_app_registered_before_sims_were_kept_has_the_sims_it_reported() -> None:
    info = json.dumps({"model": "Pixel", "simCards": [{"simNumber": 1}, {"simNumber": 2}]})
    assert decode_slots(None, info) == {1, 2}
    assert decode_slots("[1]", info) == {1}  # what it declared since wins
    assert decode_slots(None, "not json") == decode_slots(None, '{"simCards": 3}') == {1}


def test_the_sdk_parses_an_expired_status_webhook() -> None:
    from simgate import webhooks
    from simgate.domain import payloads

    at = datetime(2030, 1, 1, 9, 5)
    text = json.dumps(payloads.delivery_status("a@example.com", "+33612345678", "expired", at, "i"))
    event = webhooks.parse({"status": text})
    assert isinstance(event, webhooks.DeliveryStatus) and event.status == "expired"
