"""What the agent needs from whatever puts SMS on a radio: the `Driver` protocol.

The agent (device/agent.py) speaks to the server; a driver speaks to a phone,
a modem or an operator's SMSC (docs/device-protocol.md, DESIGN section 10):
`smsgate_local` (the SMS Gateway for Android app's local REST API), `termux`
(the agent on the phone itself); `simulator` is the virtual phone of the
demo, the tests and the benchmarks. Drivers to come: Gammu for USB modems,
SMPP.

A driver tells the agent what happened through one stream of events, and
reports only what it truly knows: one that cannot see delivery reports says
so in its capabilities and never sends `Delivered`, and its messages stay at
`sent`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a driver can really do and report."""

    delivery_reports: bool  # tells when an SMS reached the recipient (or could not)
    incoming_sms: bool  # reports SMS the phone receives
    call_events: bool  # reports incoming, outgoing and missed calls
    dial: bool  # places calls on command (click-to-call)
    sim_slots: int = 1  # SIM cards it can send from, numbered from 1


# --- events, from the driver to the agent -------------------------------------
# Times are timezone-aware (UTC); the agent puts them on the wire as ISO 8601.


@dataclass(frozen=True, slots=True)
class Sent:
    command_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Failed:
    """The SMS was not sent."""

    command_id: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Delivered:
    command_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Undelivered:
    """Sent, and the network said it will not reach the recipient."""

    command_id: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class IncomingSms:
    sender: str
    text: str
    at: datetime
    # The driver's own stable ref for this SMS (docs/device-protocol.md rules),
    # when it may report the same SMS again (a modem re-read after a restart):
    # the server stores each ref once. None: the agent makes a fresh one.
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class CallEvent:
    event: str  # one of simgate._wire.CALL_KINDS
    number: str
    duration: str  # "HH:MM:SS", or "0"
    at: datetime


DriverEvent = Sent | Failed | Delivered | Undelivered | IncomingSms | CallEvent


def report_ref(event: DriverEvent) -> str | None:
    """The ref the agent reports `event` under when the same event, reported
    again, must be the same report: results and delivery reports are named
    after their command id, an incoming SMS by the driver's ref if it gave one.
    None for the others, which get a fresh ref each time."""
    match event:
        case Sent(command_id) | Failed(command_id):
            return "r-" + command_id
        case Delivered(command_id) | Undelivered(command_id):
            return "d-" + command_id
        case IncomingSms():
            return event.ref
        case _:
            return None


class NotSent(Exception):
    """Raised by `send_sms` when the SMS certainly was not sent (the agent
    reports it failed, and the server may hand it to another phone)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


LAPSED = "its validity ended before it was sent"


def lapsed(valid_until: datetime | None) -> bool:
    """Whether a send_sms command's validity (naive UTC) has ended."""
    return valid_until is not None and valid_until < datetime.now(UTC).replace(tzinfo=None)


class Driver(Protocol):
    @property
    def name(self) -> str:
        """Short name, sent to the server in the agent's hello."""
        ...

    @property
    def capabilities(self) -> Capabilities: ...

    async def send_sms(
        self,
        command_id: str,
        to: str,
        text: str,
        sim_slot: int | None = None,
        *,
        valid_until: datetime | None = None,
    ) -> None:
        """Take one SMS to send; its outcome comes back as events.

        `sim_slot` is the 1-based SIM to send from (None: the driver's own
        default). `valid_until` (naive UTC) is when the SMS stops being worth
        sending: a driver whose sender understands validity passes it on, and
        one that has not sent it yet by then raises `NotSent` (`lapsed`).

        Returns once the driver holds the SMS, not once it is sent. Idempotent
        per `command_id`: after a restart the agent asks again for every SMS
        whose outcome (or delivery report) it is still waiting for, and a
        driver that already sent it must not send it again, only report what
        it knows. Raise `NotSent` only when the SMS certainly was not sent; any
        other error leaves it unreported, and the server fails it after its
        result timeout rather than risk sending it twice.
        """
        ...

    async def dial(self, command_id: str, to: str) -> None:
        """Place a call (only asked of drivers whose capabilities say `dial`)."""
        ...

    def events(self) -> AsyncIterator[DriverEvent]:
        """Everything that happens, in order; read by one consumer, the agent."""
        ...


@runtime_checkable
class KeepsUntilStored(Protocol):
    """Optional for a driver: it keeps something until the server has stored
    the report about it, as a modem keeps an incoming SMS on its SIM until
    then (only deleting it after a crash-safe ack). The agent calls
    `report_settled` for each report with a ref that the server answered:
    `stored` is True for its ack, False for an error that refuses the report
    for good. Called on the agent's event loop: it must not block."""

    def report_settled(self, ref: str, stored: bool) -> None: ...


@runtime_checkable
class GroupsEvents(Protocol):
    """Optional for a driver: its events in groups, everything ready at once,
    for the agent to journal with one fsync a group instead of one an event
    (a fast sender, an SMPP bind, reports a few thousand a second). The same
    rule as `events()`, group-wise: the agent asks for the next group once it
    has journaled the last one."""

    def event_groups(self) -> AsyncIterator[list[DriverEvent]]: ...
