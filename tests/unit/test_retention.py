"""Retention settings and the cutoffs they give (no store)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from simgate.config import Settings
from simgate.services.retention import cutoffs, pause
from simgate.store import retention as store

NOW = datetime(2026, 3, 11, 14, 20)


def test_defaults_are_the_documented_ones() -> None:
    settings = Settings()
    assert settings.retention_webhooks_done_days == 30
    assert settings.retention_webhooks_dead_days == 90
    assert settings.retention_device_refs_days == 30
    assert settings.retention_message_events_days == 180
    assert settings.retention_interval_seconds == 3600
    assert settings.retention_batch_rows == 500
    assert settings.retention_store_share == 0.01
    assert cutoffs(settings, NOW) == {
        store.WEBHOOKS_DONE: NOW - timedelta(days=30),
        store.WEBHOOKS_DEAD: NOW - timedelta(days=90),
        store.DEVICE_REFS: NOW - timedelta(days=30),
        store.MESSAGE_EVENTS: NOW - timedelta(days=180),
        store.EXPIRED_SESSIONS: NOW,
        store.SEND_COUNTS: NOW - timedelta(days=2),
    }


def test_zero_days_keeps_for_ever() -> None:
    settings = Settings(retention_webhooks_done_days=0, retention_message_events_days=0)
    due = cutoffs(settings, NOW)
    assert due[store.WEBHOOKS_DONE] is None and due[store.MESSAGE_EVENTS] is None
    assert due[store.WEBHOOKS_DEAD] == NOW - timedelta(days=90)


def test_settings_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMGATE_RETENTION_WEBHOOKS_DONE_DAYS", "7")
    monkeypatch.setenv("SIMGATE_RETENTION_BATCH_ROWS", "250")
    settings = Settings()
    assert settings.retention_webhooks_done_days == 7
    assert settings.retention_batch_rows == 250


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SIMGATE_RETENTION_WEBHOOKS_DONE_DAYS", "-1"),
        ("SIMGATE_RETENTION_WEBHOOKS_DEAD_DAYS", "abc"),
        ("SIMGATE_RETENTION_DEVICE_REFS_DAYS", "1.5"),
        ("SIMGATE_RETENTION_MESSAGE_EVENTS_DAYS", "-180"),
        ("SIMGATE_RETENTION_INTERVAL_SECONDS", "0"),
        ("SIMGATE_RETENTION_BATCH_ROWS", "0"),
        ("SIMGATE_RETENTION_BATCH_ROWS", "1000000"),
        ("SIMGATE_RETENTION_STORE_SHARE", "0"),
        ("SIMGATE_RETENTION_STORE_SHARE", "1.5"),
    ],
)
def test_bad_values_are_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as info:
        Settings()
    assert variable.removeprefix("SIMGATE_").lower() in str(info.value)


def test_the_pruner_rests_in_proportion_to_its_batches() -> None:
    assert pause(Settings(), 0.02) == pytest.approx(1.98)  # 1 % of the store's time
    assert pause(Settings(retention_store_share=0.5), 0.02) == pytest.approx(0.02)
    assert pause(Settings(retention_store_share=1), 0.02) == 0
