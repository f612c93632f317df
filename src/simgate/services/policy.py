"""An account's sending policy settings: read and change them (dashboard,
CLI, API). The rules themselves: services/sending_policy.py."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Engine

from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.domain.policy import AccountPolicy, PolicyError, checked, parse_windows
from simgate.store import policies as store
from simgate.store.accounts import Account
from simgate.store.db import reading, run_write

__all__ = ["AccountPolicy", "PolicyError", "get_policy", "update_policy"]


def get_policy(engine: Engine, account: Account) -> AccountPolicy:
    with reading(engine) as conn:
        return store.get(conn, account.id)


def update_policy(
    engine: Engine, account: Account, clock: Clock = SYSTEM_CLOCK, **changes: Any
) -> AccountPolicy:
    """Change some settings (names of AccountPolicy's fields), checked
    together; raises PolicyError (its `field` names the setting) and changes
    nothing then. `windows` may be given as text ("Mon-Sat 08:00-20:00")."""
    if isinstance(changes.get("windows"), str):
        changes["windows"] = parse_windows(changes["windows"])

    def work(conn: Any) -> AccountPolicy:
        try:
            policy = checked(replace(store.get(conn, account.id), **changes))
        except TypeError as exc:  # a name that is not a setting
            raise PolicyError("policy", str(exc)) from None
        store.save(conn, account.id, policy, clock.now())
        return policy

    return run_write(engine, work)
