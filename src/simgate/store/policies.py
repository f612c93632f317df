"""Queries on `account_policies`: an account's sending policy settings.

An account without a row has the defaults (domain/policy.DEFAULT).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from simgate.domain.policy import (
    DEFAULT,
    AccountPolicy,
    keywords_from_json,
    keywords_json,
    windows_from_json,
    windows_json,
)
from simgate.store.tables import account_policies

_c = account_policies.c


def _policy(row: Any) -> AccountPolicy:
    return AccountPolicy(
        optout_enabled=bool(row.optout_enabled),
        optout_keywords=keywords_from_json(row.optout_keywords),
        optin_keywords=keywords_from_json(row.optin_keywords),
        optout_reply=row.optout_reply,
        optin_reply=row.optin_reply,
        windows=windows_from_json(row.windows),
        skip_holidays=bool(row.skip_holidays),
        window_for_api=bool(row.window_for_api),
        window_for_campaigns=bool(row.window_for_campaigns),
        default_validity=row.default_validity,
        hourly_cap=row.hourly_cap,
        daily_cap=row.daily_cap,
        missed_call_reply=row.missed_call_reply,
        missed_call_period=row.missed_call_period,
    )


def get(conn: Connection, account_id: int) -> AccountPolicy:
    """The account's policy (one primary-key read)."""
    row = conn.execute(select(account_policies).where(_c.account_id == account_id)).first()
    return DEFAULT if row is None else _policy(row)


# Read at every dispatcher tick: built once.
_GET_MANY = select(account_policies).where(_c.account_id.in_(bindparam("ids", expanding=True)))


def get_many(conn: Connection, account_ids: Iterable[int]) -> dict[int, AccountPolicy]:
    """Account id → policy, for several accounts in one query (defaults for the rest)."""
    ids = list(account_ids)
    if not ids:
        return {}
    found = {row.account_id: _policy(row) for row in conn.execute(_GET_MANY, {"ids": ids})}
    return {account_id: found.get(account_id, DEFAULT) for account_id in ids}


def save(conn: Connection, account_id: int, policy: AccountPolicy, now: datetime) -> None:
    """Store the account's whole policy (already checked: domain/policy.checked)."""
    values = {
        "optout_enabled": policy.optout_enabled,
        "optout_keywords": keywords_json(policy.optout_keywords),
        "optin_keywords": keywords_json(policy.optin_keywords),
        "optout_reply": policy.optout_reply,
        "optin_reply": policy.optin_reply,
        "windows": windows_json(policy.windows),
        "skip_holidays": policy.skip_holidays,
        "window_for_api": policy.window_for_api,
        "window_for_campaigns": policy.window_for_campaigns,
        "default_validity": policy.default_validity,
        "hourly_cap": policy.hourly_cap,
        "daily_cap": policy.daily_cap,
        "missed_call_reply": policy.missed_call_reply,
        "missed_call_period": policy.missed_call_period,
        "updated_at": now,
    }
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(
        account_policies
    )
    conn.execute(
        insert.values(account_id=account_id, **values).on_conflict_do_update(
            index_elements=["account_id"], set_=values
        )
    )
