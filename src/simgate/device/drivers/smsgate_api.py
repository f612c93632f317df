"""Reading the SMS Gateway for Android app's local-server answers
(reference/smsgate-local-api.md, "§" below): answers already received in,
events and reasons out; no I/O."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from simgate.device.drivers import Delivered, DriverEvent, Failed, Sent, Undelivered

log = logging.getLogger(__name__)


def phone_time(raw: object) -> datetime | None:
    """The app's `yyyy-MM-dd'T'HH:mm:ss.SSSXXX` (the phone's zone, §1) in UTC."""
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def query_time(moment: datetime) -> str:
    """A time for `from`/`to` query parameters: offset required, 3 digits (§1)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


@dataclass(frozen=True, slots=True)
class Progress:
    events: list[DriverEvent]
    final: bool  # nothing more will come for this message


def read_progress(
    command_id: str, message: dict[str, Any], reported_sent: bool, now: datetime
) -> Progress:
    """What a message-state object (§4) adds to what was already reported.

    One recipient per message, so its own state and error are the message's.
    """
    recipients = message.get("recipients") or [{}]
    recipient = recipients[0] if isinstance(recipients[0], dict) else {}
    state = recipient.get("state") or message.get("state")
    found = message.get("states")
    states: dict[str, Any] = found if isinstance(found, dict) else {}
    error = str(recipient.get("error") or "")

    def at(name: str) -> datetime:
        return phone_time(states.get(name)) or now

    events: list[DriverEvent] = []
    was_sent = reported_sent or state in ("Sent", "Delivered") or "Sent" in states
    if was_sent and not reported_sent and state in ("Sent", "Delivered", "Failed"):
        events.append(Sent(command_id, at("Sent")))
    if state == "Delivered":
        events.append(Delivered(command_id, at("Delivered")))
    elif state == "Failed" and was_sent:
        events.append(
            Undelivered(command_id, error or "the network could not deliver it", at("Failed"))
        )
    elif state == "Failed":
        events.append(Failed(command_id, error or "the phone could not send it", at("Failed")))
    elif state == "Cancelled":
        events.append(Failed(command_id, "cancelled on the phone", at("Cancelled")))
    elif state not in ("Pending", "Processed", "Sent", "Cancelling"):
        log.warning("message %s has an unknown state %r on the phone", command_id, state)
    return Progress(events, final=state in ("Delivered", "Failed", "Cancelled"))


def message_of(answer: httpx.Response) -> str:
    """The `message` of the app's error body (§1.1), or its status text."""
    try:
        body = answer.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])[:300]
    return answer.reason_phrase or "no reason given"
