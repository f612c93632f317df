"""What each device holds: messages handed to it and not yet reported on.

A device's in-flight SMS are the `dispatched` rows naming it, as `devices
list` shows them; the dispatcher reads them here to keep each device under
its cap, so that the cap can never disagree with the store.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, Select, bindparam, func, select

from simgate.store.tables import messages


def held_by(
    conn: Connection, device_ids: Collection[int], settling: Collection[int] = ()
) -> dict[int, int]:
    """device id → how many messages it holds now (devices holding none are left out),
    not counting `settling`: messages whose result came and is not stored yet.

    One query for all the devices of a tick; the `dispatched` rows are few
    (each is under a lease), and ix_messages_due (state, send_at) finds them.
    """
    if not device_ids:
        return {}
    # The held rows themselves, few (each device holds at most its cap), and
    # `settling` left out here: in SQL the ids, thousands at a busy tick, were
    # rendered into the statement, a new one for SQLite to prepare each time.
    held: dict[int, int] = {}
    for device_id, message_id in conn.execute(_HELD_IDS, {"devices": list(device_ids)}):
        if message_id not in settling:
            held[device_id] = held.get(device_id, 0) + 1
    return held


# Built once: it runs at every dispatcher tick.
_HELD_IDS = select(messages.c.device_id, messages.c.id).where(
    messages.c.state == "dispatched",
    messages.c.device_id.in_(bindparam("devices", expanding=True)),
)


def unacked(conn: Connection, device_ids: Collection[int]) -> int:
    """How many messages handed to these devices they have not acknowledged yet
    (a few at most: each was handed over moments ago, under a lease)."""
    if not device_ids:
        return 0
    return int(conn.execute(unacked_query(device_ids)).scalar_one())


def unacked_query(device_ids: Collection[int]) -> Select[int]:
    """`unacked`'s query; ix_messages_due (state, send_at) finds the `dispatched` rows."""
    return select(func.count()).where(
        messages.c.state == "dispatched",
        messages.c.device_id.in_(list(device_ids)),
        messages.c.acked_at.is_(None),
    )
