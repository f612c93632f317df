"""A message's state as v2 names it: the six delivery statuses the official
client knows, and a sentence for people.

Pure, no I/O. The stored states are DESIGN section 5's (domain/states.py);
v2's `sms/delivery_status` folds them into the client's six values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

DeliveryStatus = Literal["delivered", "sent", "pending", "failed", "blocked", "not_found"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = get_args(DeliveryStatus)

# Stored state → the client's value. `blocked` is a send the opt-out list
# refused (policy_refusals, never a stored message); `expired` is a kind of
# failure to the client.
_BY_STATE: dict[str, DeliveryStatus] = {
    "scheduled": "pending",
    "queued": "pending",
    "dispatched": "pending",
    "sent": "sent",
    "received": "delivered",
    "failed": "failed",
    "expired": "failed",
}

_SENTENCES: dict[str, str] = {
    "scheduled": "Scheduled: it will be sent at its send date.",
    "queued": "Waiting for a phone of the account to send it.",
    "dispatched": "Handed to a phone, waiting for it to be sent.",
    "sent": "Sent by the phone; no delivery report yet.",
    "received": "Delivered to the recipient's handset.",
    "failed": "Not delivered",
    "expired": "Expired: its validity ended before a phone of the account took it.",
}
INBOUND_SENTENCE = "Received by a phone of the account."
NOT_FOUND_SENTENCE = "No message with this id in the account."
BLOCKED_SENTENCE = "Not sent: the number is on the account's opt-out list (#012)."

# An incoming SMS has arrived by definition: v2 shows it as delivered.
INBOUND_STATE = "received"
INBOUND_STATUS: DeliveryStatus = "delivered"


def delivery_status(state: str) -> DeliveryStatus:
    """The client's value for a stored outbound state."""
    return _BY_STATE[state]


def describe(state: str, fail_reason: str | None = None) -> str:
    """A sentence for people about an outbound message in `state`."""
    sentence = _SENTENCES[state]
    if state == "failed":
        return f"{sentence}: {fail_reason}." if fail_reason else f"{sentence}."
    return sentence


def preview(text: str, length: int = 60) -> str:
    """The start of a message, on one line (the client cuts it again at 60)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 3] + "..."


Step = tuple[datetime, str, str | None]  # (when, state, detail)


def timeline(
    created_at: datetime,
    send_at: datetime,
    dispatched_at: datetime | None,
    sent_at: datetime | None,
    delivered_at: datetime | None,
    failed_at: datetime | None,
    fail_reason: str | None,
    recorded: list[Step],
) -> list[Step]:
    """A message's life, oldest first: the steps its row keeps the time of
    (accepted, the last hand-over, sent, delivered, failed) and the events
    recorded beside them (retries, failures)."""
    first = "scheduled" if send_at > created_at else "queued"
    steps: list[Step] = [(created_at, first, None)]
    for at, state in ((dispatched_at, "dispatched"), (sent_at, "sent"), (delivered_at, "received")):
        if at is not None:
            steps.append((at, state, None))
    # failed_at is also when a message expired; its `expired` event says so.
    ended = ("failed", "expired")
    if failed_at is not None and not any(state in ended for _, state, _ in recorded):
        steps.append((failed_at, "failed", fail_reason))
    return sorted(steps + recorded, key=lambda step: step[0])
