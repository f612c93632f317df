"""Queries on `suppressions` (the opt-out list), `suppression_events` (its
history) and `policy_refusals` (sends it refused)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from simgate.store.tables import policy_refusals, suppressions

# Numbers looked up per query: keeps the IN list well under every driver's limit.
LOOKUP_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Refusal:
    """A send the policy refused, as policy_refusals keeps it."""

    id_sms_api: str
    phone_number: str
    code: str


def among(conn: Connection, account_id: int, numbers: Collection[str]) -> set[str]:
    """Which of `numbers` are on the account's opt-out list."""
    found: set[str] = set()
    ordered = sorted(numbers)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[start : start + LOOKUP_CHUNK]
        found.update(
            conn.execute(
                select(suppressions.c.phone_number).where(
                    suppressions.c.account_id == account_id,
                    suppressions.c.phone_number.in_(chunk),
                )
            ).scalars()
        )
    return found


def record_refusals(
    conn: Connection,
    account_id: int,
    refused: list[Refusal],
    campaign_id: int | None,
    now: datetime,
) -> None:
    """Keep the sends the policy refused, for the audit trail (one executemany)."""
    if not refused:
        return
    conn.execute(
        insert(policy_refusals),
        [
            {
                "account_id": account_id,
                "id_sms_api": r.id_sms_api,
                "phone_number": r.phone_number,
                "code": r.code,
                "campaign_id": campaign_id,
                "created_at": now,
            }
            for r in refused
        ],
    )
