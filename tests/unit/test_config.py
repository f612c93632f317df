"""Settings are parsed and checked when built; docs/configuration.md is generated."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from simgate import config_docs
from simgate.config import Settings
from simgate.domain.retry import DEFAULT_SCHEDULE

DOC = Path(__file__).parents[2] / "docs" / "configuration.md"


def test_the_retry_schedule_is_parsed_when_settings_are_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().webhook_retry_schedule == DEFAULT_SCHEDULE
    monkeypatch.setenv("SIMGATE_WEBHOOK_RETRY_SCHEDULE", "0.5, 2,10")
    assert Settings().webhook_retry_schedule == (0.5, 2.0, 10.0)
    monkeypatch.setenv("SIMGATE_WEBHOOK_RETRY_SCHEDULE", "abc")
    with pytest.raises(ValidationError, match="comma-separated seconds, got 'abc'"):
        Settings()
    assert Settings(webhook_retry_schedule="1,2").webhook_retry_schedule == (1.0, 2.0)
    for wrong in ("-1", "inf", " , "):
        with pytest.raises(ValidationError, match="non-negative"):
            Settings(webhook_retry_schedule=wrong)
    assert Settings(webhook_retry_schedule="").webhook_retry_schedule == DEFAULT_SCHEDULE


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("port", 0),
        ("port", 70000),
        ("webhook_concurrency", 0),
        ("webhook_per_host", 0),
        ("webhook_timeout_seconds", 0),
        ("lease_seconds", -1),
        ("max_send_attempts", 0),
        ("max_handovers", 0),
        ("result_timeout_seconds", 0),
        ("heartbeat_seconds", 0),
        ("dispatch_poll_seconds", 0),
        ("dispatch_sweep_seconds", 0),
        ("webhook_poll_seconds", 0),
        ("max_body_bytes", 0),
        ("max_messages_per_request", 0),
        ("node_name", ""),
        ("public_url", "sms.example.com"),
        ("public_url", "ftp://sms.example.com"),
        ("public_url", "https://sms.example.com:port"),
        ("sqlite_synchronous", "OFF"),
        ("database_url", "mysql://x"),
    ],
)
def test_values_no_worker_could_use_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(**{field: value})
    assert info.value.errors()[0]["loc"] == (field,)


def test_every_setting_says_what_it_means() -> None:
    missing = [name for name, f in Settings.model_fields.items() if not f.description]
    assert missing == []


def test_configuration_md_is_what_the_generator_writes() -> None:
    assert DOC.read_text() == config_docs.render(), (
        "docs/configuration.md is stale: run `simgate config docs --output docs/configuration.md`"
    )


def test_configuration_md_lists_every_variable_and_serve_flag() -> None:
    from simgate.cli import main

    text = DOC.read_text()
    for name in Settings.model_fields:
        assert f"`SIMGATE_{name.upper()}`" in text
    for param in main.commands["serve"].params:
        for flag in getattr(param, "opts", []):
            if flag.startswith("--") and flag != "--help":
                assert f"`{flag}`" in text, flag


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8080"),
        ("0.0.0.0", "http://127.0.0.1:8080"),
        ("::", "http://127.0.0.1:8080"),
        ("::1", "http://[::1]:8080"),
        ("sms.lan", "http://sms.lan:8080"),
    ],
)
def test_a_wildcard_bind_address_is_printed_as_loopback(host: str, url: str) -> None:
    settings = Settings(host=host, port=8080)
    assert settings.local_url() == settings.resolved_public_url() == url
    public = Settings(host=host, port=8080, public_url="https://sms.example.com/")
    assert (public.local_url(), public.resolved_public_url()) == (url, "https://sms.example.com")
