"""What an account's owner sees of the account itself (v2 `account`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.services.accounts import Account
from simgate.services.devices import seen_after
from simgate.store import accounts as store
from simgate.store.dashboard.overview import phones
from simgate.store.db import reading


@dataclass(frozen=True, slots=True)
class AccountSummary:
    devices_online: int
    devices_paired: int
    signing: bool  # webhooks are signed (a secret is set)


def account_summary(
    engine: Engine, account: Account, clock: Clock = SYSTEM_CLOCK
) -> AccountSummary:
    with reading(engine) as conn:
        online, paired = phones(conn, account.id, seen_after(clock.now()))
        signing = store.webhook_secret(conn, account.id) is not None
    return AccountSummary(online, paired, signing)
