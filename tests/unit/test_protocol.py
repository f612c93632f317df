"""Device frames are parsed once into checked types; nothing but FrameError escapes."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simgate.device import protocol
from simgate.device.protocol import FrameError, parse_command_id, parse_device_frame, parse_time


def frame(**fields: Any) -> str:
    return json.dumps(fields)


def refused(raw: str | bytes) -> FrameError:
    with pytest.raises(FrameError) as info:
        parse_device_frame(raw)
    return info.value


def test_good_frames_become_types() -> None:
    assert parse_device_frame(frame(type="ack", id="1042.0")) == protocol.Ack(1042, 0)
    result = parse_device_frame(
        frame(type="result", ref="r-1", id="7.2", status="failed", reason="no signal",
              at="2026-11-25T10:16:10.541Z")
    )
    assert result == protocol.Result(
        "r-1", 7, 2, "failed", "no signal", datetime(2026, 11, 25, 10, 16, 10, 541000)
    )
    sms = parse_device_frame(frame(type="sms_received", ref="s", **{"from": "+1"}, text="x"))
    assert sms == protocol.SmsReceived("s", "+1", "x", None)
    hello = parse_device_frame(frame(type="hello", protocol=1, capabilities=["sms", "fax"]))
    assert hello == protocol.Hello(1, frozenset({"sms"}), "")


# Frames that once took every tenant's reports down, or crashed the
# connection handler.
@pytest.mark.parametrize(
    "raw",
    [
        '{"type":"ack","id":"99999999999999999999999.0"}',
        '{"type":"ack","id":"\u00b2.1"}',
        '{"type":"result","ref":"r","id":"\u00b2.1","status":"sent"}',
        '{"type":"sms_received","ref":"p1","from":"+1","text":"a\\u0000b"}',
        '{"type":"sms_received","ref":"p1","from":"+1","text":"\\ud800"}',
        '{"type":"call","ref":"c","event":"missed_call","number":"+1","duration":"\u0661:00:00"}',
        '{"type":"hello","protocol":1,"capabilities":[{"a":1}]}',
        '{"type":"hello","protocol":true}',
        '{"type":"hello","protocol":1,"capabilities":"sms"}',
        '{"type":"sms_received","ref":"p1","from":"' + "9" * 33 + '","text":"x"}',
        '{"type":"sms_received","ref":"p1","from":"+1","text":"' + "x" * 40_001 + '"}',
        '{"type":' + "[" * 100_000 + "]" * 100_000 + "}",
        "[" * 100_000 + "]" * 100_000,
        '{"type":"result","ref":"r","id":"1.0","status":"sent","reason":{"a":1}}',
        '{"type":"sms_received","ref":"p1","from":"+1","text":"x","at":12}',
        '{"type":"qualification","ref":"q","number":"+1\\n2","text":"x"}',
        b'{"type":"sms_received","ref":"p1","from":"+1","text":"\xff"}',
    ],
)
def test_frames_that_used_to_poison_a_batch_are_refused(raw: str | bytes) -> None:
    refused(raw)


def test_a_frame_over_the_size_limit_is_refused_before_decoding() -> None:
    error = refused(" " * (protocol.MAX_FRAME_BYTES + 1))
    assert error.code == "too_large"


def test_a_refused_report_names_its_ref_so_the_device_drops_it() -> None:
    error = refused('{"type":"sms_received","ref":"p1","from":"+1","text":"a\\u0000b"}')
    assert (error.code, error.ref) == ("bad_frame", "p1")


@pytest.mark.parametrize(
    "raw",
    [
        "9999-12-31T23:59:59-05:00",  # used to overflow converting to UTC
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00+01:00",
        "1970-01-01T00:00:00Z",  # a phone whose clock was reset
        "2000-01-01T00:30:00+01:00",  # 1999 in UTC
        "yesterday",
        "",
    ],
)
def test_unusable_report_times_fall_back_to_the_servers_time(raw: str) -> None:
    assert parse_time(raw) is None


def test_report_times_are_read_as_utc() -> None:
    assert parse_time("2026-11-25T11:16:10+01:00") == datetime(2026, 11, 25, 10, 16, 10)
    assert parse_time("2026-11-25T10:16:10") == datetime(2026, 11, 25, 10, 16, 10)


def test_command_ids_are_ascii_digits_that_fit_a_64_bit_column() -> None:
    assert parse_command_id("1042.3") == (1042, 3)
    for bad in ("\u00b2.1", "1.\u00b2", "99999999999999999999999.0", "1", "1.", ".1", "-1.0", ""):
        assert parse_command_id(bad) is None, bad


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(
    ["type", "id", "ref", "status", "from", "text", "at", "event", "number", "duration",
     "protocol", "capabilities", "reason", "agent"]
)
frame_types = st.sampled_from([*protocol.FRAME_TYPES, "nope"])


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(field_names, json_values | st.text(max_size=80), max_size=8),
    frame_types,
)
def test_any_json_object_parses_or_is_refused_with_frame_error(
    fields: dict[str, Any], kind: str
) -> None:
    raw = json.dumps({**fields, "type": kind})
    try:
        parsed = parse_device_frame(raw)
    except FrameError:
        return
    # Whatever got through is safe to store: no NUL, bounded, ids in range.
    for f in dataclasses.fields(parsed):
        value = getattr(parsed, f.name)
        if isinstance(value, str):
            assert "\x00" not in value and len(value) <= protocol.MAX_TEXT
        if isinstance(value, int) and not isinstance(value, bool) and f.name != "protocol":
            assert 0 <= value < 2**63
        if isinstance(value, datetime):
            assert protocol.EARLIEST <= value < protocol.LATEST


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_any_bytes_parse_or_are_refused_with_frame_error(raw: bytes | str) -> None:
    try:
        parse_device_frame(raw)
    except FrameError:
        pass


def test_a_dial_commands_ack_is_taken_not_refused() -> None:
    # The agent acks every command by its id; a dial's id is not a message's.
    command = protocol.dial("+33612345678")
    acked = protocol.parse_device_frame(json.dumps({"type": "ack", "id": command["id"]}))
    assert acked == protocol.DialAck()
    with pytest.raises(protocol.FrameError):
        protocol.parse_device_frame('{"type": "ack", "id": "call_not-hex"}')
