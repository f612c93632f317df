"""Queries of the SMS Gateway app's mobile API (api/mobile.py): the messages
handed to an app device that it has not taken yet.

An app pulls its work. The dispatcher hands a message to it as to any device
(`dispatched`, with a lease); `GET /message` lists what it holds and has not
acknowledged, and restarts their leases from that moment, the moment the app
takes them; its first state report is the acknowledgement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from simgate.store.tables import messages


@dataclass(frozen=True, slots=True)
class Assigned:
    """A message handed to an app device, as `GET /message` shows it."""

    id: int
    attempts: int
    phone_number: str
    message: str
    priority: int
    created_at: datetime
    dispatched_at: datetime
    valid_until: datetime | None  # the message's own validity, if it has one
    sim: int | None  # the SIM slot it must leave from, if it names one


def assigned(conn: Connection, device_id: int, limit: int, newest_first: bool) -> list[Assigned]:
    """Up to `limit` messages handed to the device and not acknowledged yet,
    highest priority first, then oldest (or newest) first."""
    order = messages.c.id.desc() if newest_first else messages.c.id
    rows = conn.execute(
        select(
            messages.c.id,
            messages.c.attempts,
            messages.c.phone_number,
            messages.c.message,
            messages.c.priority,
            messages.c.created_at,
            messages.c.dispatched_at,
            messages.c.valid_until,
            messages.c.sim,
        )
        .where(
            messages.c.device_id == device_id,
            messages.c.state == "dispatched",
            messages.c.acked_at.is_(None),
        )
        .order_by(messages.c.priority.desc(), order)
        .limit(limit)
    )
    return [Assigned(*row) for row in rows]


def restart_leases(conn: Connection, device_id: int, leases: list[tuple[int, datetime]]) -> None:
    """(message id, new lease end) for messages the app just took, if they are
    still handed to it and unacknowledged."""
    if not leases:
        return
    conn.execute(
        update(messages)
        .where(
            messages.c.id == bindparam("mid"),
            messages.c.device_id == device_id,
            messages.c.state == "dispatched",
            messages.c.acked_at.is_(None),
        )
        .values(lease_until=bindparam("lease")),
        [{"mid": mid, "lease": lease} for mid, lease in leases],
    )
