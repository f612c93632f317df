"""One dispatcher tick as the worker runs it, at a time the test chooses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from simgate.config import Settings
from simgate.services import dispatch


def tick(
    engine: Engine, settings: Settings, plan: dict[int, dict[int, int]], now: datetime, sweep: bool
) -> list[dispatch.Claimed]:
    """`dispatch.tick` with the settings' lease, attempts and caps, nothing settling."""
    return dispatch.tick(
        engine,
        plan,
        settings.lease_seconds,
        settings.max_send_attempts,
        settings.max_handovers,
        settings.max_in_flight,
        set(),
        sweep,
        now,
    )
