"""The dispatcher keeps to the sending window and the caps (services/dispatch
and services/dispatch_policy), driven tick by tick with a manual clock, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from simgate.config import Settings
from simgate.domain.policy import parse_windows
from simgate.services import dispatch
from simgate.services.accounts import create_account
from simgate.services.devices import add_device
from simgate.services.messages import accept_messages
from simgate.services.policy import update_policy
from simgate.store.accounts import Account
from simgate.store.tables import messages, send_counts
from tests.support.clock import ManualClock

WORKDAYS = parse_windows("Mon-Sat 08:00-20:00")


class Setup:
    def __init__(self, settings: Settings, engine: Engine, start: datetime, **policy: Any) -> None:
        self.settings, self.engine = settings, engine
        self.clock = ManualClock(start)
        self.account: Account = create_account(engine, "holds@example.com", "Europe/Paris", "FR")[0]
        self.device = add_device(engine, self.account.email, "phone")[0]
        if policy:
            update_policy(engine, self.account, self.clock, **policy)

    def accept(self, *items: dict[str, Any]) -> None:
        answers, _ = accept_messages(self.engine, self.account, list(items), "http://x", self.clock)
        assert all(a["sent"] == 1 for a in answers), answers

    def tick(self, lease: float = 3 * 86400) -> list[str]:
        """One dispatcher tick now; the id_sms_api of what it handed over.
        Leases last days unless said otherwise: nothing is handed over twice."""
        s = self.settings
        claimed = dispatch.tick(
            self.engine,
            {self.account.id: {self.device: 50}},
            lease,
            s.max_send_attempts,
            s.max_handovers,
            s.max_in_flight,
            set(),
            True,
            self.clock.now(),
        )
        names = self.rows()
        return sorted(names[c.id].id_sms_api for c in claimed)

    def rows(self) -> dict[int, Any]:
        with self.engine.connect() as conn:
            return {r.id: r for r in conn.execute(select(messages))}

    def row(self, id_sms_api: str) -> Any:
        return next(r for r in self.rows().values() if r.id_sms_api == id_sms_api)

    def counts(self) -> dict[datetime, int]:
        with self.engine.connect() as conn:
            return {hour: n for _, hour, n in conn.execute(select(send_counts))}

    def at(self, moment: datetime) -> None:
        self.clock.advance((moment - self.clock.now()).total_seconds())


def sms(name: str, **extra: Any) -> dict[str, Any]:
    return {"phone_number": "+33612345678", "message": name, "id_sms_api": name, **extra}


# --- windows -----------------------------------------------------------------------------


def test_queued_inside_the_window_and_not_handed_over_before_it_closes_is_held(
    settings: Settings, engine: Engine
) -> None:
    # Monday 2026-06-15, 19:59 in Paris (UTC+2): the window closes at 20:00.
    setup = Setup(settings, engine, datetime(2026, 6, 15, 17, 59), windows=WORKDAYS)
    setup.accept(sms("promo", marketing=True), sms("code"))
    assert setup.row("promo").state == "queued"  # inside the window: no wait

    setup.at(datetime(2026, 6, 15, 18, 1))  # 20:01: the phones were busy until now
    assert setup.tick() == ["code"]  # the transactional one still goes
    promo = setup.row("promo")
    assert (promo.state, promo.send_at) == ("scheduled", datetime(2026, 6, 16, 6, 0))

    setup.at(datetime(2026, 6, 16, 5, 59))
    assert setup.tick() == []
    setup.at(datetime(2026, 6, 16, 6, 0))  # Tuesday 08:00
    assert setup.tick() == ["promo"]


def test_an_account_without_windows_is_not_held(settings: Settings, engine: Engine) -> None:
    setup = Setup(settings, engine, datetime(2026, 6, 14, 1, 0))  # Sunday 03:00
    setup.accept(sms("night", marketing=True))
    assert setup.tick() == ["night"]


# --- caps --------------------------------------------------------------------------------


def test_the_hourly_cap_holds_messages_until_the_hour_turns(
    settings: Settings, engine: Engine
) -> None:
    setup = Setup(settings, engine, datetime(2026, 6, 15, 12, 58), hourly_cap=3)
    setup.accept(*(sms(f"m{i}") for i in range(5)))
    assert setup.tick() == ["m0", "m1", "m2"]
    setup.at(datetime(2026, 6, 15, 12, 59, 59))
    assert setup.tick() == []
    assert {setup.row(f"m{i}").state for i in (3, 4)} == {"queued"}  # waiting, not failed
    setup.at(datetime(2026, 6, 15, 13, 0))
    assert setup.tick() == ["m3", "m4"]
    assert setup.counts() == {datetime(2026, 6, 15, 12): 3, datetime(2026, 6, 15, 13): 2}


def test_the_daily_cap_resets_at_local_midnight(settings: Settings, engine: Engine) -> None:
    # 23:30 in Paris (UTC+2) is 21:30 UTC: the local day ends at 22:00 UTC.
    setup = Setup(settings, engine, datetime(2026, 6, 15, 21, 30), daily_cap=2, hourly_cap=100)
    setup.accept(*(sms(f"m{i}") for i in range(3)))
    assert setup.tick() == ["m0", "m1"]
    setup.at(datetime(2026, 6, 15, 21, 59))
    assert setup.tick() == []
    setup.at(datetime(2026, 6, 15, 22, 0))  # local midnight
    assert setup.tick() == ["m2"]


def test_a_hand_over_again_after_an_expired_lease_does_not_count(
    settings: Settings, engine: Engine
) -> None:
    setup = Setup(settings, engine, datetime(2026, 6, 15, 10, 0), hourly_cap=1)
    setup.accept(sms("first"))
    setup.accept(sms("second"))
    assert setup.tick(lease=30) == ["first"]
    # Never acknowledged: the lease expires and it goes back to the queue.
    setup.clock.advance(31)
    assert setup.tick(lease=30) == ["first"]  # handed over again, although the cap is reached
    assert setup.row("second").state == "queued"
    assert setup.counts() == {datetime(2026, 6, 15, 10): 1}


def test_the_pull_path_claim_reads_the_policy_itself(settings: Settings, engine: Engine) -> None:
    """The SMS Gateway app's pull (services/mobile.pull) calls dispatch.claim
    without a gate: the claim reads the policy and keeps to it."""
    setup = Setup(settings, engine, datetime(2026, 6, 15, 17, 59), windows=WORKDAYS, hourly_cap=2)
    setup.accept(sms("promo", marketing=True), *(sms(f"m{i}") for i in range(3)))
    setup.at(datetime(2026, 6, 15, 18, 1))

    def claim() -> list[str]:
        with engine.begin() as conn:
            claimed = dispatch.claim(
                conn, setup.account.id, {setup.device: 10}, setup.clock.now(), 30, 5
            )
        names = setup.rows()
        return sorted(names[c.id].id_sms_api for c in claimed)

    assert claim() == ["m0", "m1"]
    assert setup.row("promo").state == "scheduled"
    assert claim() == []
    setup.at(datetime(2026, 6, 15, 19, 0))
    assert claim() == ["m2"]
    assert setup.counts()[datetime(2026, 6, 15, 18)] == 2
