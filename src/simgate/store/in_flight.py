"""What each device holds: messages handed to it and not yet reported on.

A device's in-flight SMS are the `dispatched` rows naming it, as `devices
list` shows them; the dispatcher reads them here to keep each device under
its cap, so that the cap can never disagree with the store.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import BindParameter, Connection, Select, bindparam, func, select

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
    query, values = _HELD_BY, {"devices": list(device_ids)}
    if settling:
        query, values["settling"] = _HELD_BY_SETTLED, sorted(settling)
    return {int(device_id): int(count) for device_id, count in conn.execute(query, values)}


# Built once (they run at every dispatcher tick).
_HELD_BY = (
    select(messages.c.device_id, func.count())
    .where(
        messages.c.state == "dispatched",
        messages.c.device_id.in_(bindparam("devices", expanding=True)),
    )
    .group_by(messages.c.device_id)
)
# Inlined integers: a busy tick may name more ids than SQLite takes parameters.
_SETTLING: BindParameter[list[int]] = bindparam("settling", expanding=True, literal_execute=True)
_HELD_BY_SETTLED = _HELD_BY.where(messages.c.id.not_in(_SETTLING))


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
