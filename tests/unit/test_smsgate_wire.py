"""The SMS Gateway app's wire format (domain/smsgate.py) and what its state
reports mean (services/mobile.frames_of): whatever arrives, a value or a
WireError, never another exception; the dates and signatures the app relies on."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simgate.device import protocol
from simgate.domain import smsgate
from simgate.domain.smsgate import StateReport, WireError
from simgate.services.mobile import frames_of
from tests.unit.test_input_properties import json_values

THREE_DIGITS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
app_dates = st.one_of(
    st.text(max_size=70),
    st.builds(
        lambda y, ms, off: f"{y:04d}-05-13T16:49:17.{ms:03d}{off}",
        st.integers(1, 9999),
        st.integers(0, 999),
        st.sampled_from(["Z", "+07:00", "-12:00", "+14:00", ""]),
    ),
)
states = st.sampled_from([*smsgate.STATE_RANK, "Unknown", "", None, 3])
reports = st.fixed_dictionaries(
    {
        "id": st.one_of(st.text(max_size=40), st.just("12.0"), st.integers()),
        "state": states,
        "recipients": st.one_of(
            st.none(),
            st.lists(
                st.fixed_dictionaries(
                    {"phoneNumber": st.text(max_size=20), "state": states},
                    optional={"error": st.one_of(st.text(max_size=600), st.integers())},
                ),
                max_size=3,
            ),
            json_values,
        ),
        "states": st.one_of(
            st.dictionaries(states.filter(bool), app_dates, max_size=8), json_values
        ),
    }
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, st.lists(reports, max_size=4), reports))
def test_state_reports_parse_or_are_refused(data: Any) -> None:
    try:
        parsed = smsgate.parse_state_reports(data)
    except WireError:
        return
    for report in parsed:
        assert report.state in smsgate.STATE_RANK
        assert len(report.error) <= smsgate.MAX_ERROR and "\x00" not in report.error
        assert 1 <= len(report.id) <= smsgate.MAX_ID
        for moment in report.history.values():
            assert datetime(2000, 1, 1) <= moment < datetime(2100, 1, 1)
        for frame in frames_of(report):  # never raises either
            assert isinstance(frame, protocol.Ack | protocol.Result | protocol.Delivery)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {},
            optional={
                "name": st.one_of(st.text(max_size=140), json_values),
                "pushToken": st.one_of(st.text(max_size=300), json_values),
                "simCards": st.one_of(
                    json_values,
                    st.lists(
                        st.fixed_dictionaries(
                            {"slotIndex": st.integers(-2, 10), "simNumber": st.integers(-1, 10)},
                            optional={"phoneNumber": st.text(max_size=70), "iccid": json_values},
                        ),
                        max_size=10,
                    ),
                ),
                "id": st.one_of(st.text(max_size=70), json_values),
            },
        ),
    )
)
def test_device_bodies_parse_or_are_refused(data: Any) -> None:
    for parse in (smsgate.parse_registration, smsgate.parse_device_update):
        try:
            parsed = parse(data)
        except WireError:
            continue
        assert parsed.push_token is None or 0 < len(parsed.push_token) <= smsgate.MAX_PUSH_TOKEN
        for card in parsed.sim_cards or ():
            assert 0 <= card.slot_index < smsgate.MAX_SIM_CARDS and 1 <= card.sim_number
            assert all(len(v) <= smsgate.MAX_SIM_TEXT for v in card.as_json().values()
                       if isinstance(v, str))  # fmt: skip


webhooks = st.fixed_dictionaries(
    {
        "id": st.one_of(st.text(max_size=70), st.just("Ey6ECgOkVVFjz3CL48B8C"), json_values),
        "event": st.one_of(st.sampled_from(["sms:received", "system:ping"]), json_values),
    },
    optional={
        "deviceId": st.one_of(st.text(max_size=10), json_values),
        "payload": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {},
                optional={
                    "message": st.one_of(st.text(max_size=50), json_values),
                    "sender": st.one_of(st.text(max_size=40), json_values),
                    "phoneNumber": st.one_of(st.text(max_size=40), json_values),
                    "receivedAt": app_dates,
                },
            ),
        ),
    },
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, webhooks))
def test_webhooks_parse_or_are_refused(data: Any) -> None:
    try:
        hook = smsgate.parse_webhook(data)
    except WireError:
        return
    assert re.fullmatch(r"[A-Za-z0-9_.:\-]{1,64}", hook.id)
    if hook.event == smsgate.SMS_RECEIVED:
        assert hook.sms is not None
        assert 0 < len(hook.sms.sender) <= smsgate.MAX_NUMBER and hook.sms.sender.isprintable()
        assert hook.sms.text and "\x00" not in hook.sms.text
    else:
        assert hook.sms is None


@given(st.binary(max_size=300))
def test_any_bytes_are_json_or_refused(raw: bytes) -> None:
    try:
        smsgate.parse_json(raw)
    except WireError:
        pass


def test_a_body_over_the_limit_is_refused_before_parsing() -> None:
    with pytest.raises(WireError, match="over"):
        smsgate.parse_json(b"[" + b" " * smsgate.MAX_BODY + b"]")


def test_nul_in_a_text_is_refused() -> None:
    envelope = {"id": "a", "event": "sms:received",
                "payload": {"message": "a\x00b", "sender": "+33612345678"}}  # fmt: skip
    with pytest.raises(WireError, match="NUL"):
        smsgate.parse_webhook(envelope)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
def test_dates_for_the_app_have_exactly_three_fractional_digits(moment: datetime) -> None:
    text = smsgate.app_date(moment)
    assert THREE_DIGITS.match(text), text
    millis = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    assert smsgate.parse_app_date(text) == millis


def test_the_apps_own_dates_are_read_in_utc() -> None:
    # §3: yyyy-MM-dd'T'HH:mm:ss.SSSXXX in the phone's time zone.
    assert smsgate.parse_app_date("2026-05-13T16:49:17.357+07:00") == datetime(
        2026, 5, 13, 9, 49, 17, 357000
    )
    assert smsgate.parse_app_date("2026-05-13T16:49:17.357Z") == datetime(
        2026, 5, 13, 16, 49, 17, 357000
    )
    for unusable in ("", "yesterday", "1970-01-01T00:00:00.000Z", None, 12):
        assert smsgate.parse_app_date(unusable) is None


# --- signatures (smsgate-local-api.md §6.3) ---------------------------------------------


BODY = b'{"id":"x","event":"sms:received"}'


def test_a_signature_made_as_the_app_makes_it_is_accepted() -> None:
    import hashlib
    import hmac

    stamp = "1767323045"
    signature = hmac.new(b"key", BODY + stamp.encode(), hashlib.sha256).hexdigest()
    assert smsgate.signature_ok("key", BODY, stamp, signature, 1767323045 + 299)


@pytest.mark.parametrize(
    "key, body, stamp, signature, now",
    [
        ("other", BODY, "1767323045", None, 1767323045),  # another key
        ("key", BODY + b" ", "1767323045", None, 1767323045),  # a changed body
        ("key", BODY, "1767323045", None, 1767323045 + 301),  # stale
        ("key", BODY, "1767323045", None, 1767323045 - 301),  # from the future
        ("key", BODY, "1767323045", "", 1767323045),  # empty
        ("key", BODY, "1767323045", "A" * 64, 1767323045),  # not lower-case hex
        ("key", BODY, "17673230450000", None, 1767323045),  # too many digits
        ("key", BODY, "-1", None, 1767323045),
        ("key", BODY, None, None, 1767323045),  # no X-Timestamp
        ("", BODY, "1767323045", None, 1767323045),  # no key
    ],
)
def test_forged_stale_or_malformed_signatures_are_refused(
    key: str, body: bytes, stamp: str | None, signature: str | None, now: float
) -> None:
    good = smsgate.sign("key", BODY, "1767323045")
    assert not smsgate.signature_ok(key, body, stamp, good if signature is None else signature, now)


@given(st.text(max_size=80), st.text(max_size=80), st.integers(0, 2**40))
def test_signature_headers_never_raise(stamp: str, signature: str, now: int) -> None:
    smsgate.signature_ok("key", BODY, stamp, signature, now)


# --- what a pending message looks like (§6) ----------------------------------------------


def test_a_pending_message_carries_both_text_forms_and_safe_values() -> None:
    created = datetime(2026, 1, 2, 3, 4, 5, 123456)
    item = smsgate.pending_message("12.0", "+33612345678", "Bonjour", 500, created, created, 2)
    assert item == {
        "id": "12.0",
        "message": "Bonjour",
        "textMessage": {"text": "Bonjour"},
        "phoneNumbers": ["+33612345678"],
        "withDeliveryReport": True,
        "validUntil": "2026-01-02T03:04:05.123Z",
        "priority": 99,  # 100 or more would bypass the app's own limits
        "state": "Pending",
        "createdAt": "2026-01-02T03:04:05.123Z",
        "simNumber": 2,
    }
    low = smsgate.pending_message("1.0", "+1", "x", -500, created, created, None)
    assert "simNumber" not in low and low["priority"] == -128


def test_events_are_framed_as_the_app_reads_them() -> None:
    assert smsgate.event_frame("MessageEnqueued") == "event: MessageEnqueued\ndata: {}\n\n"
    assert smsgate.KEEP_ALIVE.startswith(":") and smsgate.KEEP_ALIVE.endswith("\n\n")


# --- what a state report means ------------------------------------------------------------

AT = {name: datetime(2026, 1, 2, 3, 4, i) for i, name in enumerate(smsgate.STATE_RANK)}


def report(state: str, error: str = "", *history: str) -> StateReport:
    return StateReport("42.1", state, error, {name: AT[name] for name in history})


def kinds(frames: list[Any]) -> list[tuple[str, str]]:
    return [(type(f).__name__, getattr(f, "status", "")) for f in frames]


def test_pending_and_processed_acknowledge_only() -> None:
    for state in ("Pending", "Processed", "Cancelling"):
        assert frames_of(report(state)) == [protocol.Ack(42, 1)]


def test_sent_and_delivered_are_a_result_and_a_delivery_report() -> None:
    assert kinds(frames_of(report("Sent", "", "Sent"))) == [("Ack", ""), ("Result", "sent")]
    frames = frames_of(report("Delivered", "", "Sent", "Delivered"))
    assert kinds(frames) == [("Ack", ""), ("Result", "sent"), ("Delivery", "delivered")]
    assert frames[1].at == AT["Sent"] and frames[2].at == AT["Delivered"]


def test_a_failure_after_sent_is_a_delivery_failure_and_before_it_a_failed_send() -> None:
    after = frames_of(report("Failed", "Delivery result from SC: 65", "Sent", "Failed"))
    assert kinds(after) == [("Ack", ""), ("Result", "sent"), ("Delivery", "undelivered")]
    assert after[2].reason == "Delivery result from SC: 65"
    before = frames_of(report("Failed", "", "Processed", "Failed"))
    assert kinds(before) == [("Ack", ""), ("Result", "failed")]
    assert before[1].reason == "the phone could not send it" and before[1].at == AT["Failed"]
    assert frames_of(report("Cancelled"))[1].reason == "cancelled on the phone"


def test_reports_about_ids_simgate_never_gave_are_dropped() -> None:
    assert frames_of(StateReport("PyDmBQZZXYmyxMwED8Fzy", "Sent", "", {})) == []


def test_the_most_advanced_recipient_state_counts() -> None:
    [parsed] = smsgate.parse_state_reports(
        [
            {
                "id": "42.1",
                "state": "Sent",
                "recipients": [
                    {"phoneNumber": "+1", "state": "Sent"},
                    {"phoneNumber": "+1", "state": "Delivered"},
                ],
                "states": {"Sent": "2026-01-02T10:04:06.001+07:00", "Bogus": "x", "Failed": 3},
            },
            {"id": "43.0", "state": "Flying"},  # skipped, the rest counts
        ]
    )
    assert parsed.state == "Delivered"
    assert parsed.history == {"Sent": datetime(2026, 1, 2, 3, 4, 6, 1000)}


def test_the_reference_example_reads() -> None:
    # §7's example body, byte for byte.
    example = json.loads(
        '[{"id":"PyDmBQZZXYmyxMwED8Fzy","state":"Failed",\n'
        '  "recipients":[{"phoneNumber":"+15551234567","state":"Failed","error":"Send result: '
        'RESULT_ERROR_NO_SERVICE (Failed because service is currently unavailable)"}],\n'
        '  "states":{"Pending":"2026-01-02T10:04:05.120+07:00","Processed":'
        '"2026-01-02T10:04:06.001+07:00","Failed":"2026-01-02T10:04:09.357+07:00"}}]'
    )
    [parsed] = smsgate.parse_state_reports(example)
    assert parsed.state == "Failed" and parsed.error.startswith("Send result: RESULT_ERROR_NO")
    assert parsed.history["Failed"] == datetime(2026, 1, 2, 3, 4, 9, 357000)
