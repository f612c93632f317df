"""The gammu driver and a send_sms command's `valid_until` and `sim`: a modem
has one SIM, and python-gammu's SMS dictionary has no validity, so a stale SMS
or another SIM is refused before it reaches the modem (Gammu's dummy phone)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from simgate.device.drivers import LAPSED, NotSent, Sent
from tests.devices.gammu_helpers import Running
from tests.support.gammu_standins import DummyPhone


async def test_a_modem_refuses_a_stale_sms_and_a_second_sim(tmp_path: Path) -> None:
    phone = DummyPhone(tmp_path / "dummy")
    past = (datetime.now(UTC) - timedelta(seconds=1)).replace(tzinfo=None)
    future = past + timedelta(hours=1)
    async with Running(phone.gammurc(), tmp_path / "agent") as run:
        assert run.driver.capabilities.sim_slots == 1
        with pytest.raises(NotSent, match=LAPSED):
            await run.driver.send_sms("1.0", "+15551234567", "stale", valid_until=past)
        with pytest.raises(NotSent, match="one SIM"):
            await run.driver.send_sms("2.0", "+15551234567", "SIM 2", 2)
        await run.driver.send_sms("3.0", "+15551234567", "fresh", 1, valid_until=future)
        [sent] = await run.until(lambda: run.of(Sent))
    assert sent.command_id == "3.0"
