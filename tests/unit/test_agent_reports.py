"""The reference agent's side of a driver: the report frame for each driver
event, and what it asks its driver again after a restart."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from simgate.device import drivers, protocol
from simgate.device.agent import report_for
from simgate.device.journal import Journal

AT = datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
WIRE_AT = "2026-03-02T09:00:00.123Z"
PARSED_AT = datetime(2026, 3, 2, 9, 0, 0, 123000)  # naive UTC, milliseconds kept


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (drivers.Sent("12.0", AT), protocol.Result("r-12.0", 12, 0, "sent", "", PARSED_AT)),
        (
            drivers.Failed("12.1", "no signal", AT),
            protocol.Result("r-12.1", 12, 1, "failed", "no signal", PARSED_AT),
        ),
        (
            drivers.Delivered("12.0", AT),
            protocol.Delivery("d-12.0", 12, 0, "delivered", "", PARSED_AT),
        ),
        (
            drivers.Undelivered("12.0", "absent subscriber", AT),
            protocol.Delivery("d-12.0", 12, 0, "undelivered", "absent subscriber", PARSED_AT),
        ),
    ],
)
def test_reports_about_a_message_are_what_the_server_reads(
    event: drivers.DriverEvent, expected: protocol.Report
) -> None:
    frame = report_for(event)
    assert frame["at"] == WIRE_AT
    # The ref comes from the command id: a report made again is the same report.
    assert report_for(event) == frame
    assert protocol.parse_device_frame(json.dumps(frame)) == expected


def test_received_sms_and_calls_get_a_ref_of_their_own() -> None:
    sms = report_for(drivers.IncomingSms("+33698765432", "Oui 👍", AT))
    call = report_for(drivers.CallEvent("missed_call", "+33698765432", "0", AT))
    parsed_sms = protocol.parse_device_frame(json.dumps(sms))
    parsed_call = protocol.parse_device_frame(json.dumps(call))
    assert isinstance(parsed_sms, protocol.SmsReceived)
    assert (parsed_sms.sender, parsed_sms.text) == ("+33698765432", "Oui 👍")
    assert isinstance(parsed_call, protocol.CallEvent)
    assert (parsed_call.event, parsed_call.duration) == ("missed_call", "0")
    again = report_for(drivers.IncomingSms("+33698765432", "Oui 👍", AT))
    assert again["ref"] != sms["ref"]  # two SMS with the same text are two SMS


def command(message_id: int) -> dict[str, str]:
    return {"type": "send_sms", "id": f"{message_id}.0", "to": "+33612345678", "text": "hi"}


def test_after_a_restart_the_driver_is_asked_about_what_it_has_not_settled(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path, fsync=False)
    for message_id in (1, 2, 3, 4):
        journal.accept(command(message_id))
    journal.report(report_for(drivers.Sent("2.0", AT)))
    journal.report(report_for(drivers.Sent("3.0", AT)))
    journal.report(report_for(drivers.Delivered("3.0", AT)))
    journal.report(report_for(drivers.Failed("4.0", "no signal", AT)))
    journal.close()

    reopened = Journal(tmp_path, fsync=False)
    # 1 has no result; 2 is sent and waits for its delivery report, if any comes.
    assert [f["id"] for f in reopened.unfinished(awaiting_delivery=True)] == ["1.0", "2.0"]
    assert [f["id"] for f in reopened.unfinished(awaiting_delivery=False)] == ["1.0"]
    assert not reopened.accept(command(1))  # a repeat hand-over is not taken twice
    reopened.close()


def test_an_sms_the_driver_may_report_again_keeps_the_driver_s_ref() -> None:
    event = drivers.IncomingSms("+33698765432", "Oui", AT, ref="g-0123abcd")
    assert report_for(event)["ref"] == report_for(event)["ref"] == "g-0123abcd"
    assert drivers.report_ref(event) == "g-0123abcd"
    assert drivers.report_ref(drivers.Delivered("12.0", AT)) == "d-12.0"
    assert drivers.report_ref(drivers.CallEvent("missed_call", "+33698765432", "0", AT)) is None


class KeepsSms:
    """A driver that wants to know when its reports are settled."""

    name = "keeper"
    capabilities = drivers.Capabilities(False, True, False, False)

    def __init__(self) -> None:
        self.settled: list[tuple[str, bool]] = []

    async def send_sms(
        self,
        command_id: str,
        to: str,
        text: str,
        sim_slot: int | None = None,
        *,
        valid_until: datetime | None = None,
    ) -> None: ...

    async def dial(self, command_id: str, to: str) -> None: ...

    async def events(self) -> AsyncIterator[drivers.DriverEvent]:
        return
        yield  # an async generator that yields nothing

    def report_settled(self, ref: str, stored: bool) -> None:
        self.settled.append((ref, stored))


async def test_the_agent_tells_a_driver_which_reports_the_server_settled(tmp_path: Path) -> None:
    from simgate.device.agent import Agent

    driver = KeepsSms()
    journal = Journal(tmp_path)
    agent = Agent("http://127.0.0.1:9", "sgd_x", driver, journal)
    journal.report({"type": "sms_received", "ref": "g-1", "from": "+1", "text": "a", "at": ""})
    await agent._handle({"type": "ack", "ref": "g-1"})
    await agent._handle({"type": "error", "code": "bad_frame", "reason": "x", "ref": "g-2"})
    await agent._handle({"type": "error", "code": "bad_json", "reason": "x"})  # about no report
    assert driver.settled == [("g-1", True), ("g-2", False)]
    assert journal.pending == {}
    journal.close()
